package dev.peco4j.peco.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.peco.cli.Main;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance check for crash-safe resume, for the classifier and for MoCo v3: a training process is
 * killed with SIGKILL (kill -9) at a random moment, restarted with --resume and a different thread
 * count, and must end with weights, optimizer state and metrics.jsonl bit-identical to those of an
 * uninterrupted run. The kill point comes from a
 * seed printed on failure ({@code -Dpeco4j.seed} replays it).
 */
class CrashResumeTest {
    @TempDir
    Path dir;

    private static final List<String> CLASSIFIER = List.of("train-classifier", "--data", "subset", "--limit-train", "256", "--batch-size", "32",
            "--width", "32", "--depth", "2", "--heads", "2", "--epochs", "4", "--save-every", "3", "--seed", "9", "--lr", "2e-3");
    private static final List<String> MOCO = List.of("train-perceptual", "--data", "subset", "--limit-train", "256", "--batch-size", "32",
            "--width", "16", "--depth", "2", "--heads", "2", "--mlp-dim", "32", "--dim", "16", "--epochs", "3", "--save-every", "3", "--seed", "9",
            "--knn-train", "256", "--probe-epochs", "0");
    /** A tokenizer with every stateful part on: the GAN (two optimizers, BatchNorm buffers), k-means init, dead-code restarts. */
    private static final List<String> TOKENIZER = List.of("train-tokenizer", "--data", "subset", "--limit-train", "64", "--batch-size", "16",
            "--epochs", "2", "--save-every", "3", "--seed", "9", "--eval-images", "32", "--disc-start", "2", "--kmeans-iters", "2", "--dead-after", "2",
            "--codes", "32");

    /** Masked image modeling on a tokenizer's codes (drop path on: the step's generator is part of what must replay). */
    private static List<String> pretrain(Path tokenizer) {
        return List.of("pretrain", "--data", "subset", "--limit-train", "192", "--batch-size", "32", "--epochs", "3", "--save-every", "2", "--seed", "9",
                "--eval-images", "64", "--tokenizer", tokenizer.toString());
    }

    private List<String> run = CLASSIFIER;

    private Process start(Path out, int threads, boolean resume, String logName) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(run);
        cmd.addAll(List.of("--threads", Integer.toString(threads), "--out", out.toString()));
        if (resume) cmd.add("--resume");
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile()).start();
    }

    private int finish(Process p, String logName) throws Exception {
        int rc = p.waitFor();
        assertEquals(0, rc, "child failed:\n" + Files.readString(dir.resolve(logName)));
        return rc;
    }

    @Test
    void killNineAtARandomPointThenResumeEndsBitIdenticalEvenWithAnotherThreadCount() throws Exception {
        run = CLASSIFIER;
        crashAndResume();
    }

    @Test
    void theSameForMocoV3() throws Exception {
        run = MOCO;
        crashAndResume();
    }

    @Test
    void theSameForTheTokenizer() throws Exception {
        run = TOKENIZER;
        optimizers = List.of("autoencoder.", "discriminator.");
        crashAndResume();
    }

    @Test
    void theSameForMaskedImageModeling() throws Exception {
        run = List.of("train-tokenizer", "--data", "subset", "--limit-train", "32", "--batch-size", "16", "--epochs", "1", "--eval-images", "16", "--codes", "16");
        Path tok = dir.resolve("tokenizer");
        finish(start(tok, 2, false, "tokenizer.log"), "tokenizer.log");
        run = pretrain(tok.resolve(ClassifierTrainer.CHECKPOINT));
        crashAndResume();
    }

    @Test
    void theSameForFineTuning() throws Exception {
        run = List.of("pretrain", "--data", "subset", "--target", "pixels", "--limit-train", "32", "--batch-size", "16", "--epochs", "1", "--eval-images", "16");
        Path mim = dir.resolve("mim");
        finish(start(mim, 2, false, "mim.log"), "mim.log");
        // mixup/CutMix, random erasing, drop path and the EMA all on: each draws or keeps state that must replay
        run = List.of("finetune", "--data", "subset", "--limit-train", "192", "--batch-size", "32", "--epochs", "3", "--save-every", "2", "--seed", "9",
                "--model-ema", "0.9", "--init", mim.resolve(ClassifierTrainer.CHECKPOINT).toString());
        crashAndResume();
    }

    /** Acceptance of the ablation: killed with kill -9 mid-way, run again (another thread count), it ends with the uninterrupted run's table. */
    @Test
    void anInterruptedAblationEndsWithTheSameTable() throws Exception {
        long seed = Long.getLong("peco4j.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        run = List.of("ablation", "--data", "subset", "--seeds", "1", "--perceptual-epochs", "1", "--tokenizer-epochs", "1", "--pretrain-steps", "2",
                "--finetune-steps", "2", "--probe-epochs", "1", "--fractions", "1", "--limit-train", "256");
        Path reference = dir.resolve("ablation-reference"), crashed = dir.resolve("ablation-crashed");
        long t0 = System.nanoTime();
        finish(start(reference, 1, false, "ablation-reference.log"), "ablation-reference.log");
        long whole = (System.nanoTime() - t0) / 1_000_000;
        Process p = start(crashed, 2, false, "ablation-crash.log");
        // somewhere among the ~20 stages: 15-50% of the uninterrupted run's time (1 thread; this one has 2), so a faster machine kills as early
        Thread.sleep((long) (whole * (0.15 + 0.35 * rnd.nextDouble())));
        assertTrue(p.isAlive(), "the ablation finished before the kill (replay with -Dpeco4j.seed=" + seed + ")");
        p.destroyForcibly();
        p.waitFor();
        finish(start(crashed, 3, true, "ablation-again.log"), "ablation-again.log");
        String again = Files.readString(dir.resolve("ablation-again.log"));
        System.out.println("ablation crash-resume (seed " + seed + "): " + again.lines().filter(l -> l.contains("finished before, kept")).count()
                + " stages kept after the kill");
        assertEquals(Files.readString(reference.resolve("results.md")).replace(reference.toString(), "X"),
                Files.readString(crashed.resolve("results.md")).replace(crashed.toString(), "X"), "the same table (replay with -Dpeco4j.seed=" + seed + ")");
    }

    private List<String> optimizers = List.of("optimizer.");

    private void crashAndResume() throws Exception {
        long seed = Long.getLong("peco4j.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        String replay = " (replay with -Dpeco4j.seed=" + seed + ")";

        Path reference = dir.resolve("reference");
        finish(start(reference, 1, false, "reference.log"), "reference.log");

        Path crashed = dir.resolve("crashed");
        boolean killedMidRun = false;
        for (int attempt = 0; attempt < 4 && !killedMidRun; attempt++) {
            Process p = start(crashed, 2, attempt > 0, "crash" + attempt + ".log");
            // wait for the first checkpoint, then a random delay
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (p.isAlive() && !Files.exists(crashed.resolve(ClassifierTrainer.CHECKPOINT)) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(rnd.nextInt(1500 >> attempt));
            if (p.isAlive()) {
                p.destroyForcibly(); // SIGKILL on Unix: no shutdown hooks, no finally blocks
                p.waitFor();
                killedMidRun = true;
            }
        }
        assertTrue(killedMidRun, "the training process always finished before the kill" + replay);
        boolean hadCheckpoint = Files.exists(crashed.resolve(ClassifierTrainer.CHECKPOINT));

        finish(start(crashed, 3, true, "resume.log"), "resume.log");
        String resumed = Files.readString(dir.resolve("resume.log"));
        assertEquals(hadCheckpoint, resumed.contains("resumed from "), resumed);
        System.out.println(run.get(0) + " crash-resume (seed " + seed + "): killed with threads 2, " + resumed.lines()
                .filter(l -> l.startsWith("resumed from") || l.startsWith("--resume")).findFirst().orElse("?") + ", resumed with threads 3");

        Map<String, SafeTensors.Entry> a = SafeTensors.read(reference.resolve(ClassifierTrainer.CHECKPOINT)).entries();
        Map<String, SafeTensors.Entry> b = SafeTensors.read(crashed.resolve(ClassifierTrainer.CHECKPOINT)).entries();
        assertEquals(a.keySet(), b.keySet());
        int params = 0;
        for (String name : a.keySet()) {
            assertArrayEquals(a.get(name).data().toArray(ValueLayout.JAVA_BYTE), b.get(name).data().toArray(ValueLayout.JAVA_BYTE), name + " differs after the resume" + replay + "\n" + resumed);
            if (optimizers.stream().noneMatch(name::startsWith)) params++;
        }
        assertTrue(params > 20, "compared " + params + " model tensors");
        for (String o : optimizers) assertTrue(a.keySet().stream().anyMatch(n -> n.startsWith(o)), "and the state of optimizer " + o);
        assertEquals(Files.readString(reference.resolve("metrics.jsonl")), Files.readString(crashed.resolve("metrics.jsonl")),
                "metrics.jsonl (train and eval records) the same as the uninterrupted run's" + replay);
        try (var files = Files.list(crashed)) {
            assertEquals(List.of(), files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList(),
                    "no temporary file of an interrupted write is left" + replay);
        }
    }
}
