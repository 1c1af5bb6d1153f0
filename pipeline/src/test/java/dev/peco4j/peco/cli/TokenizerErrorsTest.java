package dev.peco4j.peco.cli;

import static dev.peco4j.peco.cli.ErrorsTest.peco;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.peco.PyTorchFixtures;
import dev.peco4j.peco.tokenizer.VQModel;
import dev.peco4j.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer's bad inputs: each gives one line naming the file, the key or the mismatch. */
class TokenizerErrorsTest {
    @TempDir
    static Path dir;
    static Path run;

    static final String[] TINY = {"train-tokenizer", "--data", "subset", "--limit-train", "32", "--batch-size", "16", "--epochs", "1",
            "--eval-images", "16", "--codes", "16", "--seed", "3"};

    @BeforeAll
    static void trainOne() {
        run = dir.resolve("tok");
        ErrorsTest.Result r = peco(ErrorsTest.with(TINY, "--out", run.toString()));
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void tokenizeWritesTheCodeMapsAndLabels() throws Exception {
        Path codes = dir.resolve("codes.safetensors");
        ErrorsTest.Result r = peco("tokenize", "--checkpoint", run.resolve("last.safetensors").toString(), "--limit", "20", "--out", codes.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Tensor> t = SafeTensors.read(codes).tensors();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {20, 7, 7}, t.get("codes").shape().dims());
        assertEquals(dev.peco4j.tensor.DType.INT32, t.get("codes").dtype());
        assertEquals(20, t.get("labels").numel());
        for (int c : t.get("codes").toIntArray()) assertTrue(c >= 0 && c < 16, "code " + c);
    }

    @Test
    void aCorruptCheckpointIsNamed() throws Exception {
        Path bad = Files.write(dir.resolve("corrupt.safetensors"), new byte[] {1, 2, 3});
        ErrorsTest.Result r = peco("tokenize", "--checkpoint", bad.toString(), "--out", dir.resolve("c.safetensors").toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(bad.toString()), r.err());
        Path truncated = dir.resolve("truncated.safetensors");
        byte[] all = Files.readAllBytes(run.resolve("last.safetensors"));
        Files.write(truncated, java.util.Arrays.copyOf(all, all.length / 2));
        r = peco("reconstruct", "--checkpoint", truncated.toString(), "--out", dir.resolve("r.png").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("peco: ") && r.err().contains(truncated.toString()), r.err());
    }

    @Test
    void anotherPresetOrCodebookIsRefusedOnResumeAndAMisShapedFileNamesTheKey() throws Exception {
        ErrorsTest.Result r = peco(ErrorsTest.with(TINY, "--out", run.toString(), "--resume", "--preset", "vqgan-f16"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("preset") && r.err().contains(run.resolve("last.safetensors").toString()), r.err());
        r = peco(ErrorsTest.with(TINY, "--out", run.toString(), "--resume", "--codes", "32"));
        assertTrue(r.err().contains("codes"), r.err());
        // a taming-named file of another config: the key and both shapes are named
        Map<String, Tensor> all = PyTorchFixtures.read("vqgan_tiny"), state = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith("param.")) state.put(k.substring(6), v);
        });
        Path file = dir.resolve("taming.safetensors");
        SafeTensors.writeTensors(file, Map.of(), state);
        VQModel.Config tiny = new VQModel.Config(16, List.of(1, 2), 1, VQModel.Config.attnAt(16, List.of(8), 2), 3, 3, 8, 8, 16, 0.25,
                dev.peco4j.peco.tokenizer.VectorQuantizer.LossForm.PAPER, dev.peco4j.peco.tokenizer.VectorQuantizer.Options.TAMING, 0, 8, 8, 2);
        VQModel.load(file, tiny);                                                                   // the right config loads strictly
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> VQModel.load(file, tiny.withCodes(32)));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("quantize.embedding.weight"), e.getMessage());
        state.remove("decoder.conv_out.bias");
        SafeTensors.writeTensors(file, Map.of(), state);
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> VQModel.load(file, tiny));
        assertTrue(e.getMessage().contains("decoder.conv_out.bias"), e.getMessage());
    }

    @Test
    void imagesOfAnotherChannelCountAreNamed() throws Exception {
        Path rgb = dir.resolve("rgb");
        for (String split : List.of("train", "test")) {
            Path cls = Files.createDirectories(rgb.resolve(split).resolve("a"));
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) img.setRGB(x, y, (x * 9) << 16 | (y * 9) << 8 | 40);
            ImageIO.write(img, "png", cls.resolve("0.png").toFile());
        }
        ErrorsTest.Result r = peco("tokenize", "--checkpoint", run.resolve("last.safetensors").toString(), "--data", rgb.toString(), "--out",
                dir.resolve("c.safetensors").toString());
        assertEquals(1, r.code());
        assertEquals("peco: --data " + rgb + " has 3-channel images, but the tokenizer in " + run.resolve("last.safetensors")
                + " takes 1-channel images\n", r.err());
    }
}
