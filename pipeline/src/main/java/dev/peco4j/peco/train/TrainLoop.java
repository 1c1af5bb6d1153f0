package dev.peco4j.peco.train;

import dev.peco4j.nn.Module;
import dev.peco4j.nn.Optimizer;
import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The training loop every stage shares (classifier, MoCo v3, later the tokenizer and MIM): epochs of
 * steps over a seeded loader; per step the stage's forward, a NaN guard, backward and the stage's
 * update; a "train" record of means over the steps since the last one (every {@code logEvery} steps
 * and at each epoch's end); after each epoch (or every evalEvery-th) and after the last step the
 * stage's evaluation (guarded too), an "eval" record, its plot and the wall-clock throughput
 * (timing.jsonl); an atomic checkpoint of the stage's modules and optimizers after every epoch and
 * every {@code saveEvery} steps; a run of {@code steps} that ends mid-epoch; progress; and resume from
 * the checkpoint exactly where it stopped, the open record's sums included, so that a resumed run's
 * metrics.jsonl is byte-identical to an uninterrupted run's of the same length (a run extended on
 * resume keeps the records of its first end, and its schedule changes length).
 *
 * <pre>{@code
 * TrainLoop.Result r = new TrainLoop(stage, runDir, configJson, new TrainLoop.Settings(epochs, saveEvery, 50), log).run(loader);
 * }</pre>
 */
public final class TrainLoop {
    /** One stage's part of training. */
    public interface Stage {
        /** The command's name, at the start of messages ("train-classifier"). */
        String name();

        /** The modules and optimizers a checkpoint holds, by name. */
        Map<String, Module> modules();

        Map<String, Optimizer> optimizers();

        /** Checks a checkpoint's config against this run before its state is restored (throws to refuse). */
        default void checkResume(Checkpoint c, Path file) {}

        /** Modes, schedules and the forward pass of one step: the loss (a scalar) and per-record sums, e.g. "accuracy" → correct count. */
        Forward forward(DataLoader.Batch batch, long step);

        /** After backward: clipping, the optimizers' steps, moving averages; gradients zeroed. */
        void update(long step);

        /** The eval record's values after an epoch (each must be finite). */
        Map<String, Double> evaluate();

        /** One line about an evaluation: "test accuracy 45.20%, test loss 1.4584". */
        String describe(Map<String, Double> eval);

        /** Draws the run so far. */
        void plot(Path png, List<Map<String, Object>> records) throws IOException;
    }

    /** loss: the batch's mean loss; sums: values whose per-image means go into the train record (e.g. "accuracy" → number correct). */
    public record Forward(Tensor loss, Map<String, Double> sums) {}

    /**
     * epochs to train, or steps when {@code steps > 0} (it then overrides epochs, as BEiT's and Hugging
     * Face's max steps; the last epoch may end early); saveEvery: also checkpoint every n steps (0: per
     * epoch only); logEvery: a train record every n steps; evalEvery: evaluate after every n-th epoch
     * and always after the last step (0: only after the last step). A checkpoint follows every epoch.
     */
    public record Settings(int epochs, int saveEvery, int logEvery, long steps, int evalEvery) {
        public Settings {
            if (steps < 0 || evalEvery < 0) throw new IllegalArgumentException("need --steps >= 0 and --eval-every >= 0, got " + steps + " and " + evalEvery);
        }

        public Settings(int epochs, int saveEvery, int logEvery) {
            this(epochs, saveEvery, logEvery, 0, 1);
        }

        /** "2 epochs x 468 steps", or with --steps "100 steps (epochs of 4)". */
        public String describe(int stepsPerEpoch) {
            return steps > 0 ? steps + " steps (epochs of " + stepsPerEpoch + ")" : epochs + " epochs x " + stepsPerEpoch + " steps";
        }

        /** The run's length in steps. */
        public long total(int stepsPerEpoch) {
            return steps > 0 ? steps : (long) stepsPerEpoch * epochs;
        }
    }

    /**
     * The warm-up in steps: {@code warmupSteps} when > 0 (as BEiT's cosine_scheduler, where
     * --warmup_steps overrides --warmup_epochs), else warmupEpochs × steps per epoch; an error when
     * longer than the run.
     */
    public static int warmupSteps(String name, double warmupEpochs, long warmupSteps, int stepsPerEpoch, long total) {
        long w = warmupSteps > 0 ? warmupSteps : Math.round(warmupEpochs * stepsPerEpoch);
        if (w > total) {
            throw new IllegalArgumentException(name + ": the warm-up (" + w + " steps) is longer than the run (" + total + " steps); shorten --warmup-epochs or --warmup-steps");
        }
        return (int) w;
    }

    /** The last evaluation, the steps done, and the throughput of this process. */
    public record Result(Map<String, Double> eval, long steps, double seconds, double imagesPerSecond) {}

    /** Training stopped because a loss was NaN or infinite. */
    public static final class NonFiniteLossException extends RuntimeException {
        public NonFiniteLossException(String message) {
            super(message);
        }
    }

    private final Stage stage;
    private final RunDir dir;
    private final String configJson;
    private final Settings settings;
    private final PrintStream log;

    public TrainLoop(Stage stage, RunDir dir, String configJson, Settings settings, PrintStream log) {
        this.stage = stage;
        this.dir = dir;
        this.configJson = configJson;
        this.settings = settings;
        this.log = log;
    }

    /** The step to start from: the checkpoint's on resume (its state restored into the stage), else 0. */
    private long resume(Window[] window) throws IOException {
        Path ckpt = dir.file(RunDir.CHECKPOINT);
        if (dir.mode() != RunDir.Mode.RESUME) return 0;
        if (!Files.exists(ckpt)) {
            log.printf("--resume: no checkpoint in %s yet, starting from scratch%n", dir.dir());
            return 0;
        }
        Checkpoint c = Checkpoint.load(ckpt);
        stage.checkResume(c, ckpt);
        c.restore(stage.modules(), stage.optimizers(), true);
        window[0] = Window.from(c.trainerStateMap(), ckpt);
        log.printf("resumed from %s at step %d%n", ckpt, c.step());
        return c.step();
    }

    public Result run(DataLoader loader) throws IOException {
        Window[] window = {new Window()};
        long step = resume(window);
        int spe = loader.batchesPerEpoch();
        if (spe == 0) throw new IllegalArgumentException(stage.name() + ": " + loader.dataset().size() + " images make no batch");
        long total = settings.total(spe);
        long epochs = (total + spe - 1) / spe;
        Path ckpt = dir.file(RunDir.CHECKPOINT);
        MetricsLog metrics = new MetricsLog(dir.file(RunDir.METRICS), dir.mode() == RunDir.Mode.RESUME ? step : -1);
        long start = System.nanoTime(), startStep = step, images = 0;
        Result last = null;
        try (Progress bar = Progress.create("train", total, step, log)) {
            while (step < total) {
                int epoch = (int) (step / spe);
                try (DataLoader.Epoch it = loader.epoch(epoch, (int) (step % spe))) {
                    while (step < total && it.hasNext()) {
                        DataLoader.Batch b = it.next();
                        Forward f = stage.forward(b, step);
                        double l = f.loss().item();
                        if (!Double.isFinite(l)) {
                            throw new NonFiniteLossException(stage.name() + ": loss is " + l + " at step " + step + " (epoch " + epoch + ", batch "
                                    + b.index() + "); stopping. The last checkpoint is " + ckpt);
                        }
                        f.loss().backward();
                        stage.update(step);
                        step++;
                        dir.start(configJson); // the run has started: only now is --out written to
                        images += b.size();
                        window[0].add(l, b.size(), f.sums());
                        double ips = images / ((System.nanoTime() - start) / 1e9);
                        bar.update(step, window[0].describe() + String.format(" %.0f img/s", ips));
                        boolean epochEnd = step % spe == 0 || step == total;
                        if (step % settings.logEvery() == 0 || epochEnd) {
                            Map<String, Object> values = new LinkedHashMap<>(window[0].means());
                            values.put("lr", new TreeMap<>(stage.optimizers()).firstEntry().getValue().groups().stream().mapToDouble(g -> g.lr).max()
                                    .orElse(0)); // the first optimizer by name, its largest group (layer decay scales the others down)
                            metrics.add(record("train", step, epoch, values));
                            window[0] = new Window();
                        }
                        long epochsDone = (step + spe - 1) / spe;
                        if (step == total || epochEnd && settings.evalEvery() > 0 && epochsDone % settings.evalEvery() == 0) {
                            Map<String, Double> ev = stage.evaluate();
                            for (var e : ev.entrySet()) requireFinite(stage.name(), e.getKey(), e.getValue(), epoch, step, ckpt);
                            metrics.add(record("eval", step, epoch, new LinkedHashMap<>(ev)));
                            Checkpoint.save(ckpt, stage.modules(), stage.optimizers(), null, step, configJson, window[0].toJson());
                            stage.plot(dir.file(RunDir.PLOT), metrics.records());
                            double secs = (System.nanoTime() - start) / 1e9;
                            timing(dir.file(RunDir.TIMING), step, epoch, secs, images / secs);
                            bar.println(String.format("epoch %d/%d: %s (%.0f img/s, %s elapsed)", epoch + 1, epochs, stage.describe(ev),
                                    images / secs, Progress.formatSeconds(secs)));
                            last = new Result(ev, step, secs, images / secs);
                        } else if (epochEnd || settings.saveEvery() > 0 && step % settings.saveEvery() == 0) {
                            Checkpoint.save(ckpt, stage.modules(), stage.optimizers(), null, step, configJson, window[0].toJson());
                        }
                    }
                }
            }
        }
        if (last == null) last = new Result(stage.evaluate(), step, (System.nanoTime() - start) / 1e9, 0); // resumed from the final checkpoint
        if (step > startStep) log.printf("done: %d steps, %s%n", step, stage.describe(last.eval()));
        return last;
    }

    /** A NaN or infinite evaluation stops the run before its checkpoint is written over (metrics cannot hold it either). */
    static void requireFinite(String name, String key, double value, int epoch, long step, Path ckpt) {
        if (!Double.isFinite(value)) {
            throw new NonFiniteLossException(name + ": " + key.replace('_', ' ') + " is " + value + " after epoch " + (epoch + 1) + " (step " + step
                    + "); stopping before the checkpoint. The last checkpoint is " + ckpt);
        }
    }

    static Map<String, Object> record(String type, long step, int epoch, Map<String, Object> values) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("type", type);
        r.put("step", step);
        r.put("epoch", epoch + 1);
        new TreeMap<>(values).forEach(r::put);
        return r;
    }

    /** Appends one epoch's wall-clock throughput to timing.jsonl (kept apart: metrics.jsonl holds only reproducible values). */
    private static void timing(Path file, long step, int epoch, double seconds, double imagesPerSecond) throws IOException {
        String line = Json.write(record("epoch", step, epoch, Map.of("seconds", seconds, "images_per_s", imagesPerSecond))) + "\n";
        try {
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw AtomicFiles.named(file, e);
        }
    }

    /**
     * The running sums behind one "train" record (the steps since the last one): the loss and each
     * of the stage's sums, weighted by images. Saved in every checkpoint, so that a record that spans
     * a resume is the same as an uninterrupted run's.
     */
    static final class Window {
        final Map<String, Double> sums = new TreeMap<>();
        long seen;

        void add(double loss, int n, Map<String, Double> more) {
            sums.merge("loss", loss * n, Double::sum);
            more.forEach((k, v) -> sums.merge(k, v, Double::sum));
            seen += n;
        }

        Map<String, Double> means() {
            Map<String, Double> m = new TreeMap<>();
            sums.forEach((k, v) -> m.put(k, v / seen));
            return m;
        }

        String describe() {
            StringBuilder b = new StringBuilder();
            means().forEach((k, v) -> b.append(b.isEmpty() ? "" : " ").append(k.equals("accuracy") ? String.format("acc %.1f%%", 100 * v)
                    : String.format("%s %.4f", k, v)));
            return b.toString();
        }

        String toJson() {
            return Json.write(Map.of("window", Map.of("seen", seen, "sums", new TreeMap<>(sums))));
        }

        static Window from(Map<String, Object> state, Path file) {
            Window w = new Window();
            if (!state.containsKey("window")) return w;
            if (state.get("window") instanceof Map<?, ?> m && m.get("seen") instanceof Long n && n >= 0 && m.get("sums") instanceof Map<?, ?> s) {
                for (var e : s.entrySet()) {
                    if (!(e.getValue() instanceof Number v) || !Double.isFinite(v.doubleValue())) break;
                    w.sums.put((String) e.getKey(), v.doubleValue());
                }
                if (w.sums.size() == s.size()) {
                    w.seen = n;
                    return w;
                }
            }
            throw new IllegalArgumentException("checkpoint " + file + ": metadata 'trainer': expected {\"window\":{\"seen\": count, \"sums\": "
                    + "{name: number}}}, found " + Json.write(state));
        }
    }
}
