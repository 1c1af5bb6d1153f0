package dev.peco4j.peco.train;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Optimizer;
import dev.peco4j.nn.GradClip;
import dev.peco4j.nn.Schedule;
import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.BadImages;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
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

    private final ClassifierConfig cfg;
    private final Path out;
    private final PrintStream log;
    private BadImages badImages = BadImages.DEFAULT;
    private Device device = Device.cpu();

    public ClassifierTrainer(ClassifierConfig cfg, Path outDir, PrintStream log) {
        this.cfg = cfg;
        this.out = outDir;
        this.log = log;
    }

    /** What to do with an image that cannot be decoded: fail (default) or skip it with a warning naming the file. */
    /** What to do with images that cannot be used (default: fail, PIL's pixel limit). */
    public ClassifierTrainer badImages(BadImages b) {
        this.badImages = b;
        return this;
    }

    /** Where the model trains (default the host); batches are copied there as they come. */
    public ClassifierTrainer device(Device d) {
        this.device = d;
        return this;
    }

    public static VisionTransformer.Config modelConfig(ClassifierConfig c, int channels, int classes) {
        return VisionTransformer.Config.of(32, 4, c.width(), c.depth(), c.heads()).withInChans(channels).withNumClasses(classes)
                .withMlpRatio(c.mlpRatio()).withDropPath(c.dropPath()).withPool(VisionTransformer.Pool.AVG);
    }

    /** The transform to 32×32: pad 28 → 32 for IDX data, resize otherwise; augment: random crop (pad 2) and flip. */
    public static Transform transform(DataSources.Splits s, boolean train, boolean augment) {
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
        DataSources.Splits splits = DataSources.resolve(cfg.data(), badImages.maxPixels());
        Dataset train = splits.train().first(cfg.limitTrain());
        VisionTransformer.Config mc = modelConfig(cfg, splits.channels(), splits.train().classes().size());
        VisionTransformer model = new VisionTransformer(Generator.derive(cfg.seed(), INIT), mc);
        model.to(device);

        AdamW opt = new AdamW(model.weightDecayGroups(cfg.lr(), cfg.weightDecay()), AdamW.Config.DEFAULT);
        String configJson = Json.write(Map.of("classifier", cfg.toMap()));

        DataLoader.Config lc = badImages.apply(DataLoader.Config.train(cfg.batchSize()));
        try (DataLoader loader = new DataLoader(train, transform(splits, true, cfg.augment()), cfg.seed(), lc);
             DataLoader testLoader = new DataLoader(splits.test(), transform(splits, false, false), cfg.seed(), badImages.apply(DataLoader.Config.eval(256)))) {
            int spe = loader.batchesPerEpoch();
            if (spe == 0) throw new IllegalArgumentException("train-classifier: " + train.size() + " images make no batch of " + cfg.batchSize());
            Schedule lr = Schedule.cosine(cfg.lr(), cfg.minLr(), spe * cfg.epochs(), (int) Math.round(cfg.warmupEpochs() * spe));
            log.println("config " + configJson);
            log.printf("data   train %s, test %s%n", train.describe(), splits.test().describe());
            log.printf("model  ViT %dx%d patch %d, width %d, depth %d, heads %d: %,d parameters%n", mc.imgSize(), mc.imgSize(),
                    mc.patchSize(), mc.embedDim(), mc.depth(), mc.heads(), model.parameterCount());
            log.printf("train  %d epochs x %d steps of %d images, %s, output %s%n", cfg.epochs(), spe, cfg.batchSize(),
                    device.description(), out.toAbsolutePath());

            TrainLoop.Stage stage = new TrainLoop.Stage() {
                @Override
                public String name() {
                    return "train-classifier";
                }

                @Override
                public Map<String, Module> modules() {
                    return Map.of("model", model);
                }

                @Override
                public Map<String, Optimizer> optimizers() {
                    return Map.of("optimizer", opt);
                }

                @Override
                public void checkResume(Checkpoint c, Path file) {
                    ClassifierConfig saved = savedConfig(c, file);
                    List<String> differ = saved.resumeConflicts(cfg);
                    if (!differ.isEmpty()) throw ConfigFields.resumeRefused(differ, file);
                    if (saved.epochs() != cfg.epochs()) {
                        log.printf("--resume: %d epochs instead of %d; the cosine schedule is recomputed for %d epochs (as timm does)%n", cfg.epochs(),
                                saved.epochs(), cfg.epochs());
                    }
                }

                @Override
                public TrainLoop.Forward forward(DataLoader.Batch b, long step) {
                    model.train(true);
                    model.setGenerator(Generator.derive(cfg.seed(), DROP_PATH, step));
                    opt.applySchedule(lr.at((int) step));
                    Tensor labels = b.labels().to(device);
                    Tensor logits = model.forward(b.images().to(device));                       // (B, K)
                    return new TrainLoop.Forward(Functional.crossEntropy(logits, labels, cfg.labelSmoothing()),
                            Map.of("accuracy", (double) correct(logits, b.labels())));
                }

                @Override
                public void update(long step) {
                    if (cfg.clipGrad() > 0) GradClip.clipGradNorm(model.parameters(), cfg.clipGrad());
                    opt.step();
                    opt.zeroGrad();
                }

                @Override
                public Map<String, Double> evaluate() {
                    double[] ev = ClassifierTrainer.evaluate(model, testLoader);
                    Map<String, Double> m = new LinkedHashMap<>();
                    m.put("test_loss", ev[0]);
                    m.put("test_accuracy", ev[1]);
                    return m;
                }

                @Override
                public String describe(Map<String, Double> ev) {
                    return String.format("test accuracy %.2f%%, test loss %.4f", 100 * ev.get("test_accuracy"), ev.get("test_loss"));
                }

                @Override
                public void plot(Path png, List<Map<String, Object>> records) throws IOException {
                    Plots.lossAndAccuracy(png, records, "ViT on " + splits.name());
                }
            };
            TrainLoop.Result r = new TrainLoop(stage, runDir, configJson, new TrainLoop.Settings(cfg.epochs(), cfg.saveEvery(), 50), log).run(loader);
            return new Result(r.eval().get("test_accuracy"), r.eval().get("test_loss"), r.steps(), r.seconds(), r.imagesPerSecond(), out);
        }
    }

    /** The config stored in a checkpoint written by this trainer; errors name the file and the field. */
    public static ClassifierConfig savedConfig(Checkpoint c, Path file) {
        return ConfigFields.saved(c, file, "classifier", ClassifierConfig.class);
    }

    private static int correct(Tensor logits, Tensor labels) {
        int[] pred = logits.argmax(1, false).toIntArray(), y = labels.toIntArray();
        int n = 0;
        for (int i = 0; i < y.length; i++) if (pred[i] == y[i]) n++;
        return n;
    }

    /** {mean loss (no smoothing), accuracy} over a loader, in eval mode without recording. */
    public static double[] evaluate(VisionTransformer model, DataLoader loader) {
        Device device = model.parameters().getFirst().device();
        model.eval();
        double lossSum = 0;
        long right = 0, n = 0;
        try (var ignored = Autograd.noGrad(); DataLoader.Epoch it = loader.epoch(0, 0)) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                if (b.size() == 0) continue;
                Tensor labels = b.labels().to(device);
                Tensor logits = model.forward(b.images().to(device));
                lossSum += Functional.crossEntropy(logits, labels, 0).item() * b.size();
                right += correct(logits, b.labels());
                n += b.size();
            }
        }
        model.train(true);
        return new double[] {lossSum / n, (double) right / n};
    }
}
