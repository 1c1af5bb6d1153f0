package dev.peco4j.peco.perceptual;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Optimizer;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.nn.Schedule;
import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.BadImages;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.train.ConfigFields;
import dev.peco4j.peco.train.Plots;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code peco train-perceptual}: MoCo v3 ({@link MocoV3}) on a dataset without its labels, through
 * the shared {@link TrainLoop}: two asymmetric views per image (BYOL's recipe, as MoCo v3's
 * main_moco.py), AdamW with lr = base_lr × batch / 256 and a per-step cosine with linear warm-up,
 * the momentum rising on a half cosine. After each epoch a k-NN monitor (k = 20, T = 0.07) on frozen
 * features; at the end k-NN and linear probes of the trained encoder, of the same encoder at its
 * random initialization and of raw pixels (probes.json).
 *
 * <p>The views on grayscale images: random resized crop to the encoder's size (area from crop_min),
 * color jitter (brightness 0.4, contrast 0.4; saturation is a no-op on one channel; no hue) with p
 * 0.8, random grayscale (a no-op), Gaussian blur with p 1.0 / 0.1 (BYOL's kernel of 23 px and σ in [0.1, 2] px
 * are pixels of a 224-pixel image, so both scale with the image: at 28 px a 3-px kernel and σ in [0.0125, 0.25]), solarization with p 0 / 0.2, horizontal flip, normalization.
 */
public final class MocoTrainer {
    static final long INIT = 21;

    private final PerceptualConfig cfg;
    private final Path out;
    private final PrintStream log;
    private BadImages badImages = BadImages.DEFAULT;
    private Device device = Device.cpu();

    public MocoTrainer(PerceptualConfig cfg, Path out, PrintStream log) {
        this.cfg = cfg;
        this.out = out;
        this.log = log;
    }

    /** What to do with images that cannot be used (default: fail, PIL's pixel limit). */
    public MocoTrainer badImages(BadImages b) {
        this.badImages = b;
        return this;
    }

    /** Where MoCo trains (default the host); batches are copied there. */
    public MocoTrainer device(Device d) {
        this.device = d;
        return this;
    }

    /** The encoder: MoCo v3's ViT without a head. */
    public static VisionTransformer.Config encoderConfig(PerceptualConfig c, int channels) {
        return VisionTransformer.Config.mocoV3(c.imgSize(), c.patchSize(), c.width(), c.depth(), c.heads()).withInChans(channels).withMlpRatio(c.mlpRatio());
    }

    public static MocoV3 model(PerceptualConfig c, int channels) {
        return new MocoV3(Generator.derive(c.seed(), INIT), new MocoV3.Config(encoderConfig(c, channels), c.dim(), c.mlpDim(), c.temperature(),
                c.stopGradConv1()));
    }

    /**
     * The trained encoder of a train-perceptual checkpoint (MoCo's base encoder, frozen-ready: use it
     * with {@link FeatureNet#vit}); its config comes from the checkpoint, its channels from the patch
     * projection. Errors name the file.
     */
    public static VisionTransformer loadEncoder(Path file) throws IOException {
        Checkpoint c = Checkpoint.load(file);
        PerceptualConfig cfg = savedConfig(c, file);
        Map<String, Tensor> state = new LinkedHashMap<>();
        c.modules().getOrDefault("moco", Map.of()).forEach((n, t) -> {
            if (n.startsWith("base_encoder.")) state.put(n.substring("base_encoder.".length()), t);
        });
        Tensor proj = state.get("patch_embed.proj.weight");
        if (proj == null || proj.dim() != 4) throw new IllegalArgumentException("checkpoint " + file + ": no moco.base_encoder.patch_embed.proj.weight");
        VisionTransformer vit = new VisionTransformer(new Generator(0), encoderConfig(cfg, proj.size(1)));
        try {
            vit.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": " + e.getMessage(), e);
        }
        return vit;
    }

    /** The config stored in a checkpoint written by this trainer; errors name the file and the field. */
    public static PerceptualConfig savedConfig(Checkpoint c, Path file) {
        return ConfigFields.saved(c, file, "perceptual", PerceptualConfig.class);
    }

    /** The two views of BYOL's recipe at the encoder's size (see the class comment). */
    static List<Transform> views(DataSources.Splits s, int size, double cropMin) {
        Transform norm = Transforms.normalize(s.mean(), s.std());
        Transform crop = Transforms.randomResizedCrop(size, cropMin, 1, 3.0 / 4, 4.0 / 3);
        Transform jitter = Transforms.randomApply(0.8, Transforms.colorJitter(0.4, 0.4, 0.2));
        double scale = size / 224.0; // BYOL's blur is in pixels of a 224-pixel image
        int kernel = Math.max(3, (int) Math.round(23 * scale) | 1); // 23·scale rounded, made odd: 23 at 224 px, 3 at 28
        Transform blur = Transforms.gaussianBlur(kernel, 0.1 * scale, 2.0 * scale);
        return List.of(
                Transform.compose(crop, jitter, Transforms.randomGrayscale(0.2), Transforms.randomApply(1.0, blur), Transforms.randomHorizontalFlip(0.5), norm),
                Transform.compose(crop, jitter, Transforms.randomGrayscale(0.2), Transforms.randomApply(0.1, blur),
                        Transforms.randomApply(0.2, Transforms.solarize(0.5)), Transforms.randomHorizontalFlip(0.5), norm));
    }

    /** The evaluation view: the whole image at the encoder's size, normalized. */
    static Transform plain(DataSources.Splits s, int size) {
        return Transform.compose(Transforms.resize(size, size), Transforms.normalize(s.mean(), s.std()));
    }

    public TrainLoop.Result run(RunDir.Mode mode) throws IOException {
        RunDir runDir = RunDir.open(out, mode);
        DataSources.Splits splits = DataSources.resolve(cfg.data(), badImages.maxPixels());
        Dataset train = splits.train().first(cfg.limitTrain());
        Dataset bank = train.first(cfg.knnTrain());
        int classes = splits.train().classes().size();
        MocoV3 moco = model(cfg, splits.channels());
        moco.to(device);
        AdamW opt = new AdamW(List.of(new ParamGroup("all", moco.trainable(), cfg.lr(), cfg.weightDecay())), AdamW.Config.DEFAULT);
        String configJson = Json.write(Map.of("perceptual", cfg.toMap()));
        DataLoader.Config lc = badImages.apply(DataLoader.Config.train(cfg.batchSize()));
        DataLoader.Config ec = badImages.apply(DataLoader.Config.eval(256));
        try (DataLoader loader = new DataLoader(train, views(splits, cfg.imgSize(), cfg.cropMin()), cfg.seed(), lc);
             DataLoader bankLoader = new DataLoader(bank, plain(splits, cfg.imgSize()), cfg.seed(), ec);
             DataLoader testLoader = new DataLoader(splits.test(), plain(splits, cfg.imgSize()), cfg.seed(), ec)) {
            int spe = loader.batchesPerEpoch();
            if (spe == 0) throw new IllegalArgumentException("train-perceptual: " + train.size() + " images make no batch of " + cfg.batchSize());
            long total = (long) spe * cfg.epochs();
            Schedule lr = Schedule.cosine(cfg.lr(), 0, (int) total, (int) Math.round(cfg.warmupEpochs() * spe));
            VisionTransformer.Config ec2 = moco.baseEncoder.config;
            log.println("config " + configJson);
            log.printf("data   train %s (labels unused), k-NN bank %d, test %s%n", train.describe(), bank.size(), splits.test().describe());
            log.printf("model  MoCo v3 ViT %dx%d patch %d, width %d, depth %d, heads %d: %,d encoder parameters, %,d trained in all%n", ec2.imgSize(),
                    ec2.imgSize(), ec2.patchSize(), ec2.embedDim(), ec2.depth(), ec2.heads(), moco.baseEncoder.parameterCount(),
                    moco.trainable().stream().mapToLong(Tensor::numel).sum());
            log.printf("train  %d epochs x %d steps of %d images (2 views), lr %.3g, %s, output %s%n", cfg.epochs(), spe, cfg.batchSize(),
                    cfg.lr(), device.description(), out.toAbsolutePath());

            TrainLoop.Stage stage = new TrainLoop.Stage() {
                @Override
                public String name() {
                    return "train-perceptual";
                }

                @Override
                public Map<String, Module> modules() {
                    return Map.of("moco", moco);
                }

                @Override
                public Map<String, Optimizer> optimizers() {
                    return Map.of("optimizer", opt);
                }

                @Override
                public void checkResume(Checkpoint c, Path file) {
                    ConfigFields.checkResume(savedConfig(c, file), cfg, PerceptualConfig.MAY_CHANGE_ON_RESUME, file);
                }

                @Override
                public TrainLoop.Forward forward(DataLoader.Batch b, long step) {
                    moco.train(true);
                    opt.applySchedule(lr.at((int) step));
                    return new TrainLoop.Forward(moco.forward(b.views().get(0).to(device), b.views().get(1).to(device),
                            MocoV3.momentum(step, total, cfg.momentum())), Map.of());
                }

                @Override
                public void update(long step) {
                    opt.step();
                    opt.zeroGrad();
                }

                @Override
                public Map<String, Double> evaluate() {
                    moco.eval();
                    double acc = Probes.knn(Probes.embed(bankLoader, x -> moco.forward(x.to(device))),
                            Probes.embed(testLoader, x -> moco.forward(x.to(device))), 20, 0.07, classes);
                    return new LinkedHashMap<>(Map.of("knn_accuracy", acc));
                }

                @Override
                public String describe(Map<String, Double> ev) {
                    return String.format("k-NN accuracy %.2f%%", 100 * ev.get("knn_accuracy"));
                }

                @Override
                public void plot(Path png, List<Map<String, Object>> records) throws IOException {
                    Plots.lossAndAccuracy(png, records, "MoCo v3 on " + splits.name());
                }
            };
            TrainLoop.Result r = new TrainLoop(stage, runDir, configJson, new TrainLoop.Settings(cfg.epochs(), cfg.saveEvery(), 50), log).run(loader);
            if (cfg.probeEpochs() > 0) probes(runDir, moco, splits, train, classes);
            return r;
        }
    }

    /** k-NN and linear probes of (a) the trained encoder, (b) the same encoder at initialization, (c) raw pixels; written to probes.json. */
    private void probes(RunDir runDir, MocoV3 moco, DataSources.Splits splits, Dataset train, int classes) throws IOException {
        Map<String, Object> result = new LinkedHashMap<>();
        MocoV3 random = model(cfg, splits.channels());
        Map<String, java.util.function.UnaryOperator<Tensor>> nets = new LinkedHashMap<>();
        nets.put("trained", moco::forward);
        nets.put("random_init", random::forward);
        nets.put("pixels", x -> x.flatten(1, 3));
        moco.eval();
        random.eval();
        try (DataLoader tr = new DataLoader(train, plain(splits, cfg.imgSize()), cfg.seed(), badImages.apply(DataLoader.Config.eval(256)));
             DataLoader te = new DataLoader(splits.test(), plain(splits, cfg.imgSize()), cfg.seed(), badImages.apply(DataLoader.Config.eval(256)))) {
            log.printf("probes on %s: k-NN (k 20, T 0.07) and linear (%d epochs, lr chosen on a held-out tenth of the training set) on frozen features%n", splits.test().describe(), cfg.probeEpochs());
            for (var e : nets.entrySet()) {
                Probes.Features a = Probes.embed(tr, e.getValue()), b = Probes.embed(te, e.getValue());
                double knn = Probes.knn(a, b, 20, 0.07, classes);
                Probes.LinearProbe linear = Probes.linearProbe(a, b, classes, cfg.probeEpochs(), cfg.seed());
                log.printf("  %-12s k-NN %.2f%%  linear %.2f%% (lr %.0e: %.2f%% on the held-out tenth)%n", e.getKey(), 100 * knn, 100 * linear.accuracy(), linear.lr(),
                        100 * linear.valAccuracy());
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("knn_accuracy", knn);
                r.put("linear_accuracy", linear.accuracy());
                r.put("linear_lr", linear.lr());
                r.put("linear_val_accuracy", linear.valAccuracy());
                result.put(e.getKey(), r);
            }
        }
        AtomicFiles.writeString(runDir.file(RunDir.PROBES), Json.write(result) + "\n");
    }
}
