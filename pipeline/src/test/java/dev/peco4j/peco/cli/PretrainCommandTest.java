package dev.peco4j.peco.cli;

import static dev.peco4j.peco.cli.ErrorsTest.peco;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.tokenizer.TokenProbe;
import dev.peco4j.peco.tokenizer.TokenizerTrainer;
import dev.peco4j.peco.tokenizer.VQModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peco pretrain} end to end on the embedded subset, for both targets, and its bad inputs: each
 * is one line naming the file or the mismatch, given before any training step (the --out folder is
 * not even created).
 */
class PretrainCommandTest {
    @TempDir
    static Path dir;
    static Path tokenizer, other;

    static final String[] TOKENIZER = {"train-tokenizer", "--data", "subset", "--limit-train", "32", "--batch-size", "16", "--epochs", "1",
            "--eval-images", "16", "--codes", "16"};

    @BeforeAll
    static void trainTwoTokenizers() {
        ErrorsTest.Result r = peco(ErrorsTest.with(TOKENIZER, "--seed", "3", "--out", dir.resolve("tok").toString()));
        assertEquals(0, r.code(), r.err());
        r = peco(ErrorsTest.with(TOKENIZER, "--seed", "4", "--out", dir.resolve("tok2").toString()));
        assertEquals(0, r.code(), r.err());
        tokenizer = dir.resolve("tok").resolve("last.safetensors");
        other = dir.resolve("tok2").resolve("last.safetensors");
    }

    static String[] pretrain(String out, String... more) {
        return ErrorsTest.with(new String[] {"pretrain", "--data", "subset", "--limit-train", "64", "--batch-size", "16", "--epochs", "1", "--eval-images", "32",
                "--out", dir.resolve(out).toString()}, more);
    }

    @Test
    @SuppressWarnings("unchecked")
    void bothTargetsTrainAndReportTheirMetrics() throws Exception {
        ErrorsTest.Result r = peco(pretrain("tokens", "--tokenizer", tokenizer.toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("final masked-token accuracy") && r.out().contains("(chance 6.25%)"), r.out());
        List<String> lines = Files.readAllLines(dir.resolve("tokens").resolve("metrics.jsonl"));
        Map<String, Object> eval = Json.parseObject(lines.getLast(), "metrics");
        for (String k : List.of("test_loss", "test_accuracy", "chance_accuracy", "majority_accuracy", "codes_predicted", "codes_in_targets")) {
            assertTrue(eval.containsKey(k), k + " in " + eval);
        }
        Map<String, Object> cfg = (Map<String, Object>) Json.parseObject(Files.readString(dir.resolve("tokens").resolve("config.json")), "config").get("pretrain");
        assertEquals(64, ((String) cfg.get("tokenizer_sha256")).length(), "the checkpoint records the tokenizer's sha256: " + cfg);
        assertTrue(Files.exists(dir.resolve("tokens").resolve("plot.png")));

        r = peco(pretrain("pixels", "--target", "pixels"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("final test loss"), r.out());
        assertTrue(r.out().contains("norm_pix_loss"), r.out());
    }

    @Test
    void aConvertedTamingVqganServesAsTokenizerWithItsConfigReadFromItsTensors() throws Exception {
        // taming's own tiny VQGAN (the parity fixture, GroupNorm with 8 groups): the config comes out of the tensors
        Map<String, dev.peco4j.tensor.Tensor> all = dev.peco4j.peco.PyTorchFixtures.read("vqgan_tiny"), taming = new java.util.LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith("param.")) taming.put(k.substring(6), v);
        });
        Path fixture = dir.resolve("taming-tiny.safetensors");
        dev.peco4j.nn.io.SafeTensors.writeTensors(fixture, Map.of(), taming);
        VQModel.Config c = VQModel.loadTaming(fixture, 8).config;
        assertEquals(List.of(16, List.of(1, 2), 1, List.of(false, true), 3, 8, 16), List.of(c.ch(), c.chMult(), c.numResBlocks(), c.attn(), c.inChannels(),
                c.embedDim(), c.nEmbed()));

        // a train-tokenizer checkpoint's weights alone, under taming's names: the same model, the same codes, and pretrain takes it
        VQModel trained = TokenizerTrainer.load(tokenizer).model();
        Path file = dir.resolve("converted.safetensors");
        Map<String, dev.peco4j.tensor.Tensor> weights = new java.util.LinkedHashMap<>(Checkpoint.load(tokenizer).modules().get("vqgan"));
        weights.keySet().removeIf(k -> k.startsWith("quantize.") && !k.equals("quantize.embedding.weight")); // k-means and restart state: not taming's
        dev.peco4j.nn.io.SafeTensors.writeTensors(file, Map.of(), weights);
        VQModel read = VQModel.loadTaming(file, trained.config.groups());
        assertEquals(trained.config.withQuantizer(read.config.quantizer()).withBeta(0.25).withLossForm(read.config.lossForm()).toString().replaceAll("discNdf=\\d+, discLayers=\\d+", ""),
                read.config.toString().replaceAll("discNdf=\\d+, discLayers=\\d+", ""));
        dev.peco4j.tensor.Tensor x = dev.peco4j.tensor.Tensor.rand(new dev.peco4j.tensor.Generator(1), 4, 1, 28, 28);
        org.junit.jupiter.api.Assertions.assertArrayEquals(TokenProbe.codes(trained, x).toIntArray(), TokenProbe.codes(read, x).toIntArray());
        ErrorsTest.Result r = peco(pretrain("taming", "--tokenizer", file.toString(), "--tokenizer-groups", Integer.toString(trained.config.groups())));
        assertEquals(0, r.code(), r.err());
        r = peco(pretrain("taming2", "--tokenizer", file.toString()));
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().contains("neither a train-tokenizer checkpoint nor a converted taming VQGAN") && r.err().contains("GroupNorm"), r.err());
    }

    @Test
    void resumingWithAnotherTokenizerIsRefused() throws Exception {
        ErrorsTest.Result r = peco(pretrain("resume", "--tokenizer", tokenizer.toString()));
        assertEquals(0, r.code(), r.err());
        r = peco(ErrorsTest.with(pretrain("resume", "--tokenizer", other.toString(), "--epochs", "2"), "--resume"));
        assertEquals(1, r.code(), r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("was trained on the codes of tokenizer " + tokenizer) && r.err().contains("is another file"), r.err());
        Path moved = Files.copy(tokenizer, dir.resolve("moved.safetensors"));
        r = peco(ErrorsTest.with(pretrain("resume", "--tokenizer", moved.toString(), "--epochs", "2"), "--resume"));
        assertEquals(0, r.code(), "the same tokenizer file somewhere else resumes: " + r.err());
        assertTrue(r.out().contains("resumed from"), r.out());
    }

    @Test
    void badInputsAreOneLineBeforeAnyStep() throws Exception {
        Path corrupt = Files.write(dir.resolve("corrupt.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Map<String[], String> cases = new java.util.LinkedHashMap<>();
        cases.put(pretrain("e1", "--tokenizer", dir.resolve("missing.safetensors").toString()), "--tokenizer " + dir.resolve("missing.safetensors") + ": no such file");
        cases.put(pretrain("e2", "--tokenizer", corrupt.toString()), "--tokenizer " + corrupt + " is neither a train-tokenizer checkpoint nor a converted taming VQGAN: safetensors " + corrupt);
        cases.put(pretrain("e3", "--tokenizer", tokenizer.toString(), "--tokenizer-size", "32"),
                "the tokenizer's code grid does not match the patch grid: --tokenizer-size 32 with its downsampling factor 4 gives 8x8 codes, the ViT has 7x7 patches");
        cases.put(pretrain("e4", "--tokenizer", tokenizer.toString(), "--mask-patches", "50"), "--mask-patches 50 is more than the 7x7 = 49 patches");
        cases.put(pretrain("e5", "--tokenizer", tokenizer.toString(), "--patch-size", "5"), "--img-size 28 is not a multiple of the patch size 5");
        cases.put(pretrain("e6"), "--target tokens needs --tokenizer");
        cases.put(pretrain("e7", "--tokenizer", tokenizer.toString(), "--data", "mnist-rgb-nonexistent"), "mnist-rgb-nonexistent");
        for (var c : cases.entrySet()) {
            ErrorsTest.Result r = peco(c.getKey());
            assertEquals(1, r.code(), String.join(" ", c.getKey()) + "\n" + r.out());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().contains(c.getValue()), "expected '" + c.getValue() + "' in: " + r.err());
            assertFalse(r.out().contains("train 1/"), "no training step: " + r.out());
        }
        for (String e : List.of("e1", "e2", "e3", "e4", "e5", "e6", "e7")) assertFalse(Files.exists(dir.resolve(e)), e + ": --out was not created");
    }
}
