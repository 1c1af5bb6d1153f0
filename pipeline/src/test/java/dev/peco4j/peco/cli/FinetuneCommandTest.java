package dev.peco4j.peco.cli;

import static dev.peco4j.peco.cli.ErrorsTest.peco;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peco finetune} from a pretrain checkpoint and from scratch, its best checkpoint, and its bad inputs. */
class FinetuneCommandTest {
    @TempDir
    static Path dir;
    static Path pretrained, other;

    @BeforeAll
    static void pretrainTwo() {
        for (String name : new String[] {"mim", "mim2"}) {
            ErrorsTest.Result r = peco("pretrain", "--data", "subset", "--target", "pixels", "--limit-train", "64", "--batch-size", "16", "--epochs", "1",
                    "--eval-images", "16", "--seed", name.equals("mim") ? "1" : "2", "--out", dir.resolve(name).toString());
            assertEquals(0, r.code(), r.err());
        }
        pretrained = dir.resolve("mim").resolve("last.safetensors");
        other = dir.resolve("mim2").resolve("last.safetensors");
    }

    static String[] finetune(String out, String... more) {
        return ErrorsTest.with(new String[] {"finetune", "--data", "subset", "--limit-train", "64", "--batch-size", "16", "--epochs", "1", "--out",
                dir.resolve(out).toString()}, more);
    }

    @Test
    void fineTunesFromAPretrainCheckpointAndKeepsTheBestModel() throws Exception {
        ErrorsTest.Result r = peco(finetune("ft", "--init", pretrained.toString(), "--model-ema", "0.9"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("from " + pretrained) && r.out().contains("final test accuracy"), r.out());
        Checkpoint best = Checkpoint.load(dir.resolve("ft").resolve("best.safetensors"));
        assertTrue(best.modules().get("model").containsKey("blocks.0.attn.relative_position_bias_table"), "per-block tables");
        assertTrue(best.trainerStateMap().get("test_accuracy") instanceof Number, "the best accuracy is recorded");
        assertTrue(Checkpoint.load(dir.resolve("ft").resolve("last.safetensors")).modules().containsKey("model_ema"));

        r = peco(finetune("ft32", "--init", pretrained.toString(), "--img-size", "32"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("position biases resized from a 7x7 grid (28 px) to 8x8 (32 px)"), r.out());

        r = peco(finetune("scratch"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("from scratch"), r.out());
    }

    @Test
    void probesEveryBlockOfAnyVitCheckpointAndRefusesOneWithoutAVit() throws Exception {
        for (String spec : new String[] {pretrained.toString(), "random:" + pretrained}) {
            Path out = dir.resolve(spec.startsWith("random") ? "probe-random" : "probe");
            ErrorsTest.Result r = peco("probe", "--checkpoint", spec, "--data", "subset", "--limit-train", "200", "--probe-epochs", "2", "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            String md = Files.readString(out.resolve("probes.md"));
            assertEquals(4, md.lines().filter(l -> l.matches("\\| \\d+ \\|.*")).count(), "one row per block of the tiny ViT:\n" + md);
            assertTrue(Files.exists(out.resolve("probes.png")) && Files.exists(out.resolve("probes.json")));
        }
        ErrorsTest.Result r = peco("probe", "--checkpoint", dir.resolve("mim").resolve("config.json").toString(), "--out", dir.resolve("p2").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is not a checkpoint of this project"), r.err());
        // a checkpoint without a ViT: a tokenizer's
        r = peco("train-tokenizer", "--data", "subset", "--limit-train", "16", "--batch-size", "16", "--epochs", "1", "--eval-images", "16", "--codes", "16",
                "--out", dir.resolve("tok").toString());
        assertEquals(0, r.code(), r.err());
        Path tok = dir.resolve("tok").resolve("last.safetensors");
        r = peco("probe", "--checkpoint", tok.toString(), "--out", dir.resolve("p3").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("checkpoint " + tok + " holds no ViT"), r.err());
        assertFalse(Files.exists(dir.resolve("p3")));
    }

    @Test
    void resumingFromAnotherInitIsRefusedAndBadInitsAreNamed() throws Exception {
        ErrorsTest.Result r = peco(finetune("resume", "--init", pretrained.toString()));
        assertEquals(0, r.code(), r.err());
        r = peco(ErrorsTest.with(finetune("resume", "--init", other.toString(), "--epochs", "2"), "--resume"));
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().contains("fine-tunes " + pretrained) && r.err().contains("not " + other), r.err());

        // a checkpoint of another architecture (MoCo v3's ViT) as --init: named, and an existing run in --out is left as it was, even with --overwrite
        r = peco("train-perceptual", "--data", "subset", "--limit-train", "128", "--batch-size", "64", "--epochs", "1", "--probe-epochs", "0", "--knn-train", "64",
                "--width", "16", "--depth", "1", "--heads", "2", "--out", dir.resolve("moco").toString());
        assertEquals(0, r.code(), r.err());
        Path moco = dir.resolve("moco").resolve("last.safetensors");
        byte[] before = Files.readAllBytes(dir.resolve("resume").resolve("last.safetensors"));
        r = peco(ErrorsTest.with(finetune("resume", "--init", moco.toString()), "--overwrite"));
        assertEquals(1, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("--init " + moco + " is not a pretrain checkpoint") && r.err().contains("\"pretrain\""), r.err());
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, Files.readAllBytes(dir.resolve("resume").resolve("last.safetensors")), "nothing overwritten");

        Path missing = dir.resolve("none.safetensors");
        r = peco(finetune("e1", "--init", missing.toString()));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--init " + missing + ": no such file"), r.err());
        r = peco(finetune("e2", "--init", dir.resolve("mim").resolve("plot.png").toString()));
        assertEquals(1, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("plot.png"), r.err());
        assertFalse(Files.exists(dir.resolve("e1")) || Files.exists(dir.resolve("e2")));
    }

    @Test
    void aStepBudgetEndsMidEpochEvaluatesWhereAskedAndTheRecipeIsTheInitModels() throws Exception {
        // 64 images in batches of 16: epochs of 4 steps; 10 steps end in the third epoch; evaluations after epoch 2 and the last step
        ErrorsTest.Result r = peco(finetune("steps", "--init", pretrained.toString(), "--steps", "10", "--warmup-steps", "3", "--eval-every", "2",
                "--model", "beit_base_patch16_224_8k_vocab"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("10 steps (epochs of 4)"), r.out());
        Path run = dir.resolve("steps");
        java.util.List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        java.util.List<Object> evalSteps = lines.stream().map(l -> dev.peco4j.nn.io.Json.parseObject(l, "metrics.jsonl")).filter(m -> m.get("type").equals("eval"))
                .map(m -> m.get("step")).toList();
        assertEquals(java.util.List.of(8L, 10L), evalSteps.stream().map(o -> ((Number) o).longValue()).toList(), "evaluations after epoch 2 and at the end");
        Checkpoint last = Checkpoint.load(run.resolve("last.safetensors"));
        assertEquals(10, last.step());
        // --model is ignored with --init: the recipe (lr, layer decay, drop path) is the tiny init's, not ViT-B's
        var cfg = (java.util.Map<?, ?>) last.configMap().get("finetune");
        assertEquals(0.75, ((Number) cfg.get("layer_decay")).doubleValue());
        assertEquals(4e-3, ((Number) cfg.get("base_lr")).doubleValue());
        assertEquals(0.1, ((Number) cfg.get("drop_path")).doubleValue());
        assertEquals(new dev.peco4j.peco.finetune.FinetuneConfig.Recipe(1e-3, 0.65, 0.1), dev.peco4j.peco.finetune.FinetuneConfig.recipe("beit_base_patch16_224_8k_vocab"));
        assertEquals(new dev.peco4j.peco.finetune.FinetuneConfig.Recipe(2.5e-4, 0.75, 0.2), dev.peco4j.peco.finetune.FinetuneConfig.recipe("beit_large_patch16_224_8k_vocab"));

        r = peco(finetune("steps-bad", "--steps", "4", "--warmup-steps", "5"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("the warm-up (5 steps) is longer than the run (4 steps)"), r.err());
        assertFalse(Files.exists(dir.resolve("steps-bad")));
    }
}
