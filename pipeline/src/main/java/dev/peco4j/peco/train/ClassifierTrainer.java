package dev.peco4j.peco.train;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.GradClip;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.nn.Schedule;
import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.ImageFolder;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Backends;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Supervised training of a {@link VisionTransformer} classifier: AdamW with BEiT's no-decay group,
 * a per-step cosine schedule with linear warm-up, label-smoothed cross-entropy, optional gradient
 * clipping, evaluation and an atomic checkpoint after every epoch, JSON-lines metrics and a PNG plot.
 *
 * <p>Determinism: the weights come from {@code derive(seed, INIT)}, the batches from the loader's
 * (seed, epoch, position) streams, and drop path at step s from {@code derive(seed, DROP_PATH, s)}.
 * Nothing depends on the wall clock or the thread count, so a run resumed from any checkpoint
 * ends bit-identical to an uninterrupted one.
 */
public final class ClassifierTrainer {
    static final long INIT = 11, DROP_PATH = 12;
    public static final String CHECKPOINT = RunDir.CHECKPOINT;

    /** What a run produced. */
    public record Result(double testAccuracy, double testLoss, long steps, double seconds, double imagesPerSecond, Path outDir) {}

    /** Training stopped because the loss was NaN or infinite. */
    public static final class NonFiniteLossException extends RuntimeException {
        public NonFiniteLossException(String message) {
            super(message);
        }
    }

    private final ClassifierConfig cfg;
    private final Path out;
    private final PrintStream log;
    private DataLoader.OnError onBadImage = DataLoader.OnError.FAIL;
    private long maxImagePixels = ImageFolder.DEFAULT_MAX_PIXELS;

    public ClassifierTrainer(ClassifierConfig cfg, Path outDir, PrintStream log) {
        this.cfg = cfg;
        this.out = outDir;
        this.log = log;
    }

    /** What to do with an image that cannot be decoded: fail (default) or skip it with a warning naming the file. */
    public ClassifierTrainer onBadImage(DataLoader.OnError e) {
        this.onBadImage = e;
        return this;
    }

    /** Images (of an image folder) above this many pixels are refused before decoding, as damaged ones are. */
    public ClassifierTrainer maxImagePixels(long n) {
        this.maxImagePixels = n;
        return this;
    }

    public static VisionTransformer.Config modelConfig(ClassifierConfig c, int channels, int classes) {
        return VisionTransformer.Config.of(32, 4, c.width(), c.depth(), c.heads()).withInChans(channels).withNumClasses(classes)
                .withMlpRatio(c.mlpRatio()).withDropPath(c.dropPath()).withPool(VisionTransformer.Pool.AVG);
    }

    /** The transform to 32×32: pad 28 → 32 for IDX data, resize otherwise; augment: random crop (pad 2) and flip. */
    static Transform transform(DataSources.Splits s, boolean train, boolean augment) {
        var img = DataSources.sample(s.train());
        Transform base = img.height() == 28 && img.width() == 28 ? Transforms.pad(2) : Transforms.resize(32, 32);
        Transform norm = Transforms.normalize(s.mean(), s.std());
        if (train && augment) return Transform.compose(base, Transforms.randomCrop(32, 2), Transforms.randomHorizontalFlip(0.5), norm);
        return Transform.compose(base, norm);
    }

    /**
     * Trains into the output folder: {@code NEW} refuses a folder that holds a run, {@code RESUME}
     * continues from its checkpoint (or starts if it has none; a larger epoch count extends a
     * finished run), {@code OVERWRITE} replaces it once the new run has taken its first step.
     */
    public Result run(RunDir.Mode mode) throws IOException {
        RunDir runDir = RunDir.open(out, mode);
        DataSources.Splits splits = DataSources.resolve(cfg.data(), maxImagePixels);
        Dataset train = cfg.limitTrain() > 0 ? new Subset(splits.train(), cfg.limitTrain()) : splits.train();
        VisionTransformer.Config mc = modelConfig(cfg, splits.channels(), splits.train().classes().size());
        VisionTransformer model = new VisionTransformer(Generator.derive(cfg.seed(), INIT), mc);

        List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        model.namedParameters().forEach((n, p) -> (model.noWeightDecay(n, p) ? noDecay : decay).add(p));
        AdamW opt = new AdamW(List.of(new ParamGroup("decay", decay, cfg.lr(), cfg.weightDecay()),
                new ParamGroup("no_decay", noDecay, cfg.lr(), 0)), AdamW.Config.DEFAULT);

        String configJson = Json.write(Map.of("classifier", cfg.toMap()));
        long step = 0;
        Window window = new Window();
        Path ckpt = runDir.file(RunDir.CHECKPOINT);
        boolean resume = mode == RunDir.Mode.RESUME;
        if (resume && Files.exists(ckpt)) {
            Checkpoint c = Checkpoint.load(ckpt);
            ClassifierConfig saved = savedConfig(c, ckpt);
            List<String> differ = saved.resumeConflicts(cfg);
            if (!differ.isEmpty()) {
                throw new IllegalArgumentException("--resume: " + String.join(", ", differ) + (differ.size() == 1 ? " differs" : " differ")
                        + " from the config stored in " + ckpt + "; drop " + (differ.size() == 1 ? "it" : "them") + " or use another --out");
            }
            if (saved.epochs() != cfg.epochs()) {
                log.printf("--resume: %d epochs instead of %d; the cosine schedule is recomputed for %d epochs (as timm does)%n", cfg.epochs(),
                        saved.epochs(), cfg.epochs());
            }
            c.restore(model, opt, true);
            step = c.step();
            window = Window.from(c.trainerStateMap(), ckpt);
            log.printf("resumed from %s at step %d%n", ckpt, step);
        } else if (resume) {
            log.printf("--resume: no checkpoint in %s yet, starting from scratch%n", out);
        }

        DataLoader.Config lc = DataLoader.Config.train(cfg.batchSize()).onError(onBadImage);
        try (DataLoader loader = new DataLoader(train, transform(splits, true, cfg.augment()), cfg.seed(), lc);
             DataLoader testLoader = new DataLoader(splits.test(), transform(splits, false, false), cfg.seed(), DataLoader.Config.eval(256).onError(onBadImage))) {
            int spe = loader.batchesPerEpoch();
            if (spe == 0) throw new IllegalArgumentException("train-classifier: " + train.size() + " images make no batch of " + cfg.batchSize());
            long total = (long) spe * cfg.epochs();
            Schedule lr = Schedule.cosine(cfg.lr(), cfg.minLr(), (int) total, (int) Math.round(cfg.warmupEpochs() * spe));
            MetricsLog metrics = new MetricsLog(runDir.file(RunDir.METRICS), resume ? step : -1);

            log.println("config " + configJson);
            log.printf("data   train %s, test %s%n", train.describe(), splits.test().describe());
            log.printf("model  ViT %dx%d patch %d, width %d, depth %d, heads %d: %,d parameters%n", mc.imgSize(), mc.imgSize(),
                    mc.patchSize(), mc.embedDim(), mc.depth(), mc.heads(), model.parameterCount());
            log.printf("train  %d epochs x %d steps of %d images, %s threads, output %s%n", cfg.epochs(), spe, cfg.batchSize(),
                    Backends.threads(), out.toAbsolutePath());

            long start = System.nanoTime(), startStep = step, images = 0;
            Result last = null;
            try (Progress bar = Progress.create("train", total, step, log)) {
                while (step < total) {
                    int epoch = (int) (step / spe);
                    try (DataLoader.Epoch it = loader.epoch(epoch, (int) (step % spe))) {
                        while (it.hasNext()) {
                            DataLoader.Batch b = it.next();
                            model.train(true);
                            model.setGenerator(Generator.derive(cfg.seed(), DROP_PATH, step));
                            opt.applySchedule(lr.at((int) step));
                            Tensor logits = model.forward(b.images());                          // (B, K)
                            Tensor loss = Functional.crossEntropy(logits, b.labels(), cfg.labelSmoothing());
                            double l = loss.item();
                            if (!Double.isFinite(l)) {
                                throw new NonFiniteLossException("train-classifier: loss is " + l + " at step " + step + " (epoch " + epoch
                                        + ", batch " + b.index() + "); stopping. The last checkpoint is " + ckpt);
                            }
                            loss.backward();
                            if (cfg.clipGrad() > 0) GradClip.clipGradNorm(model.parameters(), cfg.clipGrad());
                            opt.step();
                            opt.zeroGrad();
                            step++;
                            runDir.start(configJson); // the run has started: only now is --out written to
                            images += b.size();
                            window.add(l, correct(logits, b.labels()), b.size());
                            double ips = images / ((System.nanoTime() - start) / 1e9);
                            bar.update(step, String.format("loss %.4f acc %.1f%% %.0f img/s", window.loss(), 100 * window.accuracy(), ips));
                            if (step % 50 == 0 || step % spe == 0) {
                                metrics.add(record("train", step, epoch, Map.of("loss", window.loss(), "accuracy", window.accuracy(),
                                        "lr", opt.groups().get(0).lr)));
                                window = new Window();
                            }
                            if (step % spe == 0) {
                                double[] ev = evaluate(model, testLoader);
                                requireFiniteTestLoss(ev[0], epoch, step, ckpt);
                                metrics.add(record("eval", step, epoch, Map.of("test_loss", ev[0], "test_accuracy", ev[1])));
                                Checkpoint.save(ckpt, model, opt, null, step, configJson, window.toJson());
                                Plots.lossAndAccuracy(runDir.file(RunDir.PLOT), metrics.records(), "ViT on " + splits.name());
                                double secs = (System.nanoTime() - start) / 1e9;
                                timing(runDir.file(RunDir.TIMING), step, epoch, secs, images / secs);
                                bar.println(String.format("epoch %d/%d: test accuracy %.2f%%, test loss %.4f (%.0f img/s, %s elapsed)",
                                        epoch + 1, cfg.epochs(), 100 * ev[1], ev[0], images / secs, Progress.formatSeconds(secs)));
                                last = new Result(ev[1], ev[0], step, secs, images / secs, out);
                            } else if (cfg.saveEvery() > 0 && step % cfg.saveEvery() == 0) {
                                Checkpoint.save(ckpt, model, opt, null, step, configJson, window.toJson());
                            }
                        }
                    }
                }
            }
            if (last == null) { // resumed from the final checkpoint: evaluate what it holds
                double[] ev = evaluate(model, testLoader);
                last = new Result(ev[1], ev[0], step, (System.nanoTime() - start) / 1e9, 0, out);
            }
            if (step > startStep) log.printf("done: %d steps, test accuracy %.2f%%%n", step, 100 * last.testAccuracy());
            return last;
        }
    }

    /** A NaN or infinite test loss stops the run before its checkpoint is written over (metrics cannot hold it either). */
    static void requireFiniteTestLoss(double loss, int epoch, long step, Path ckpt) {
        if (!Double.isFinite(loss)) {
            throw new NonFiniteLossException("train-classifier: test loss is " + loss + " after epoch " + (epoch + 1) + " (step " + step
                    + "); stopping before the checkpoint. The last checkpoint is " + ckpt);
        }
    }

    /** The config stored in a checkpoint written by this trainer; errors name the file and the field. */
    public static ClassifierConfig savedConfig(Checkpoint c, Path file) {
        if (!(c.configMap().get("classifier") instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata 'config' holds no \"classifier\" object");
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> cm = (Map<String, Object>) m;
            return ClassifierConfig.fromMap(cm);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata 'config': " + e.getMessage(), e);
        }
    }

    /**
     * The running sums behind one "train" record (the steps since the last one). They are saved in
     * every checkpoint, so a record that spans a resume is the same as an uninterrupted run's.
     */
    static final class Window {
        double lossSum;
        long correct, seen;

        void add(double loss, int right, int n) {
            lossSum += loss * n;
            correct += right;
            seen += n;
        }

        double loss() {
            return lossSum / seen;
        }

        double accuracy() {
            return (double) correct / seen;
        }

        String toJson() {
            return Json.write(Map.of("window", Map.of("loss_sum", lossSum, "correct", correct, "seen", seen)));
        }

        static Window from(Map<String, Object> state, Path file) {
            Window w = new Window();
            if (!state.containsKey("window")) return w;
            if (state.get("window") instanceof Map<?, ?> m && m.get("loss_sum") instanceof Number s && m.get("correct") instanceof Long c
                    && m.get("seen") instanceof Long n && Double.isFinite(s.doubleValue()) && c >= 0 && n >= c) {
                w.lossSum = s.doubleValue();
                w.correct = c;
                w.seen = n;
                return w;
            }
            throw new IllegalArgumentException("checkpoint " + file + ": metadata 'trainer': expected {\"window\":{\"loss_sum\": number, "
                    + "\"correct\": count, \"seen\": count}}, found " + Json.write(state));
        }
    }

    /** Appends one epoch's wall-clock throughput to timing.jsonl (kept apart: metrics.jsonl holds only reproducible values). */
    private static void timing(Path file, long step, int epoch, double seconds, double imagesPerSecond) throws IOException {
        String line = Json.write(record("epoch", step, epoch, Map.of("seconds", seconds, "images_per_s", imagesPerSecond))) + "\n";
        try {
            Files.writeString(file, line, java.nio.charset.StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw AtomicFiles.named(file, e);
        }
    }

    private static Map<String, Object> record(String type, long step, int epoch, Map<String, Object> values) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("type", type);
        r.put("step", step);
        r.put("epoch", epoch + 1);
        new java.util.TreeMap<>(values).forEach(r::put);
        return r;
    }

    private static int correct(Tensor logits, Tensor labels) {
        int[] pred = logits.argmax(1, false).toIntArray(), y = labels.toIntArray();
        int n = 0;
        for (int i = 0; i < y.length; i++) if (pred[i] == y[i]) n++;
        return n;
    }

    /** {mean loss (no smoothing), accuracy} over a loader, in eval mode without recording. */
    public static double[] evaluate(VisionTransformer model, DataLoader loader) {
        model.eval();
        double lossSum = 0;
        long right = 0, n = 0;
        try (var ignored = Autograd.noGrad(); DataLoader.Epoch it = loader.epoch(0, 0)) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                if (b.size() == 0) continue;
                Tensor logits = model.forward(b.images());
                lossSum += Functional.crossEntropy(logits, b.labels(), 0).item() * b.size();
                right += correct(logits, b.labels());
                n += b.size();
            }
        }
        model.train(true);
        return new double[] {lossSum / n, (double) right / n};
    }

    /** The first n items of a dataset (for quick runs and tests). */
    record Subset(Dataset base, int n) implements Dataset {
        @Override
        public int size() {
            return Math.min(n, base.size());
        }

        @Override
        public Sample get(int i) {
            return base.get(i);
        }

        @Override
        public List<String> classes() {
            return base.classes();
        }

        @Override
        public String describe() {
            return base.describe() + ", first " + size();
        }
    }
}
