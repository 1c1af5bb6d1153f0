package dev.peco4j.peco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run folder's files: nothing written early, errors that name the file, a NaN that stops the run. */
class RunFilesTest {
    @TempDir
    Path dir;

    @Test
    void aMetricsLogChangesNothingUntilItsFirstRecord() throws IOException {
        Path f = Files.writeString(dir.resolve("metrics.jsonl"), "{\"type\":\"train\",\"step\":50}\n{\"type\":\"train\",\"step\":100}\n{\"ty");
        String before = Files.readString(f);
        MetricsLog m = new MetricsLog(f, 50);
        assertEquals(before, Files.readString(f), "opening for a resume at step 50 does not touch the file");
        m.add(Map.of("step", 51L));
        assertEquals("{\"type\":\"train\",\"step\":50}\n{\"step\":51}\n", Files.readString(f));
        new MetricsLog(f, -1).add(Map.of("step", 1L));
        assertEquals("{\"step\":1}\n", Files.readString(f), "a new run keeps none of the old records");
    }

    @Test
    void aFullDiskIsAnErrorNamingTheFile() throws IOException {
        Path full = Path.of("/dev/full");
        assumeTrue(Files.isWritable(full), "needs /dev/full (Linux)");
        Path f = dir.resolve("metrics.jsonl");
        MetricsLog m = new MetricsLog(f, -1);
        m.add(Map.of("step", 1L));
        Files.delete(f);
        Files.createSymbolicLink(f, full); // every write to it fails with ENOSPC
        IOException e = assertThrows(IOException.class, () -> m.add(Map.of("step", 2L)));
        assertEquals("writing " + f + ": No space left on device", e.getMessage());
    }

    @Test
    void aNonFiniteTestLossStopsTheRunNamingTheStep() {
        Path ckpt = dir.resolve("last.safetensors");
        TrainLoop.requireFinite("train-classifier", "test_loss", 0.5, 0, 10, ckpt);
        var e = assertThrows(TrainLoop.NonFiniteLossException.class, () -> TrainLoop.requireFinite("train-classifier", "test_loss", Double.NaN, 2, 30, ckpt));
        assertEquals("train-classifier: test loss is NaN after epoch 3 (step 30); stopping before the checkpoint. The last checkpoint is " + ckpt,
                e.getMessage());
    }

    @Test
    void openingAFolderForAResumeRemovesLeftoversOnly() throws IOException {
        Path keep = Files.writeString(dir.resolve("notes.tmp"), "mine");
        Path left = Files.writeString(dir.resolve(".last.safetensors.8812.tmp"), "half");
        RunDir.open(dir, RunDir.Mode.RESUME);
        assertTrue(Files.exists(keep));
        assertTrue(Files.notExists(left));
    }
}
