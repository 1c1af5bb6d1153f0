package dev.peco4j.peco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassifierTrainerTest {
    @TempDir
    Path dir;

    /** A tiny, fast run: 192 subset images, batches of 32, a 2-block ViT of width 32. */
    static ClassifierConfig tiny(int epochs, double lr, int saveEvery) {
        return new ClassifierConfig("subset", 5, epochs, 32, lr, 1e-5, 0.5, 0.05, 0.1, 1.0, 32, 2, 2, 2.0, 0.1, true, saveEvery, 192);
    }

    @Test
    void aRunWritesConfigMetricsCheckpointAndPlot() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ClassifierTrainer.Result r = new ClassifierTrainer(tiny(2, 2e-3, 0), dir, new PrintStream(log, true)).run(RunDir.Mode.NEW);
        assertEquals(12, r.steps());
        assertTrue(r.testAccuracy() > 0.15, "better than chance after 12 steps: " + r.testAccuracy());
        for (String f : new String[] {"config.json", "metrics.jsonl", "last.safetensors", "plot.png"}) {
            assertTrue(Files.size(dir.resolve(f)) > 0, f);
        }
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(4, lines.size(), "train + eval per epoch: " + lines);
        @SuppressWarnings("unchecked")
        Map<String, Object> eval = (Map<String, Object>) Json.parse(lines.get(3), "metrics.jsonl");
        assertEquals("eval", eval.get("type"));
        assertEquals(12L, ((Number) eval.get("step")).longValue());
        assertEquals(r.testAccuracy(), ((Number) eval.get("test_accuracy")).doubleValue());
        Checkpoint c = Checkpoint.load(dir.resolve("last.safetensors"));
        assertEquals(12, c.step());
        assertEquals(tiny(2, 2e-3, 0), ClassifierTrainer.savedConfig(c, dir));
        String out = log.toString();
        assertTrue(out.contains("config {\"classifier\":{\"data\":\"subset\",\"seed\":5"), out);
        assertTrue(out.contains("epoch 2/2: test accuracy"), out);

        // resuming a finished run trains no more and reports the same accuracy
        ClassifierTrainer.Result again = new ClassifierTrainer(tiny(2, 2e-3, 0), dir, new PrintStream(new ByteArrayOutputStream())).run(RunDir.Mode.RESUME);
        assertEquals(12, again.steps());
        assertEquals(r.testAccuracy(), again.testAccuracy());
        assertEquals(4, Files.readAllLines(dir.resolve("metrics.jsonl")).size());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ClassifierTrainer(tiny(2, 1e-3, 0), dir, new PrintStream(new ByteArrayOutputStream())).run(RunDir.Mode.RESUME));
        assertEquals("--resume: --lr 0.001 (saved: 0.002) differs from the config stored in " + dir.resolve("last.safetensors")
                + "; drop it or use another --out", e.getMessage());
    }

    @Test
    void aNonFiniteLossStopsTrainingAndNamesTheStep() {
        ClassifierConfig exploding = new ClassifierConfig("subset", 1, 1, 32, 1e30, 1e30, 0, 0, 0, 0, 32, 2, 2, 2.0, 0, false, 0, 96);
        TrainLoop.NonFiniteLossException e = assertThrows(TrainLoop.NonFiniteLossException.class,
                () -> new ClassifierTrainer(exploding, dir, new PrintStream(new ByteArrayOutputStream())).run(RunDir.Mode.NEW));
        assertTrue(e.getMessage().matches("train-classifier: loss is (NaN|Infinity) at step [12] \\(epoch 0, batch [12]\\); stopping\\..*"),
                e.getMessage());
    }
}
