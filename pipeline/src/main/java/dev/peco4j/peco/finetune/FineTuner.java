package dev.peco4j.peco.finetune;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.GradClip;
import dev.peco4j.nn.Losses;
import dev.peco4j.nn.ModelEma;
import dev.peco4j.nn.RelativePositionBias;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Optimizer;
import dev.peco4j.nn.Schedule;
import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.BadImages;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.RandAugment;
import dev.peco4j.peco.data.Resample;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.pretrain.MimTrainer;
import dev.peco4j.peco.pretrain.PretrainConfig;
import dev.peco4j.peco.train.ClassifierTrainer;
import dev.peco4j.peco.train.ConfigFields;
import dev.peco4j.peco.train.Plots;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Interpolation;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code peco finetune}: BEiT's fine-tuning of a pre-trained ViT (run_class_finetuning.py) through the
 * shared {@link TrainLoop}. From a pretrain checkpoint ({@link #fromPretrained}: the shared relative
 * position table copied into every block, mask_token, lm_head and the final norm dropped, a new
 * fc_norm and head) or from scratch with the same recipe: mean pooling of the patch tokens, the head
 * initialized small (trunc_normal(0.02) × 0.001), AdamW with layer-wise lr decay ({@link LayerDecay}),
 * a per-step cosine with linear warm-up to min lr, drop path, mixup/CutMix with label smoothing through
 * a soft-target cross-entropy ({@link Mixup}), random erasing, optionally an EMA of the weights.
 *
 * <p>Augmentation is BEiT's build_transform (timm's create_transform): a random resized crop (area
 * 0.08–1, aspect 3/4–4/3, bicubic), horizontal flip, RandAugment (rand-m9-mstd0.5-inc1,
 * {@link RandAugment}), normalization, random erasing; for inputs of at most 32 px the crop is
 * RandomCrop(size, padding 4), as BEiT's. Test images: resized (bicubic) so that the shorter side is
 * size / 0.875 (size itself from 384 px up), center-cropped to size; at most 32 px only resized.
 *
 * <p>After each epoch: test loss and accuracy (and the EMA's); best.safetensors holds the model of the
 * best test accuracy so far, last.safetensors everything needed to resume.
 */
public final class FineTuner {
    static final long INIT = 81, STEP = 82, MIX = 83;

    private final FinetuneConfig cfg;
    private final long[] step = {0};                                                  // the steps done, for the best checkpoint
    private final Path out;
    private final PrintStream log;
    private BadImages badImages = BadImages.DEFAULT;
    private Device device = Device.cpu();

    public FineTuner(FinetuneConfig cfg, Path out, PrintStream log) {
        this.cfg = cfg;
        this.out = out;
        this.log = log;
    }

    public FineTuner badImages(BadImages b) {
        this.badImages = b;
        return this;
    }

    /** Where the model (and its EMA) trains (default the host); batches are copied there. */
    public FineTuner device(Device d) {
        this.device = d;
        return this;
    }

    public static FinetuneConfig savedConfig(Checkpoint c, Path file) {
        return ConfigFields.saved(c, file, "finetune", FinetuneConfig.class, Map.of("aa", "none", "label_fraction", 1.0, "steps", 0, "warmup_steps", -1, "eval_every", 1)); // fields added later
    }

    /**
     * A pretrain checkpoint's weights under the fine-tuning model's names (BEiT's checkpoint
     * conversion): rel_pos_bias.relative_position_bias_table copied to blocks.i.attn.relative_position_bias_table
     * for every block; mask_token, lm_head.*, the shared index and (with mean pooling) norm.* dropped.
     * When the patch grid changes (fine-tuning at another resolution) each table is resized as BEiT
     * does ({@link RelativePositionBias#resizeTable}) and an absolute pos_embed is resized bicubically on
     * its grid, the [CLS] entry kept.
     */
    public static Map<String, Tensor> fromPretrained(Map<String, Tensor> mim, int depth, boolean meanPooling, int srcGrid, int dstGrid) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        mim.forEach((k, v) -> {
            if (k.equals("mask_token") || k.startsWith("lm_head.") || k.equals("rel_pos_bias.relative_position_index")) return;
            if (meanPooling && k.startsWith("norm.")) return;
            if (k.equals("rel_pos_bias.relative_position_bias_table")) {
                Tensor t = srcGrid == dstGrid ? v : RelativePositionBias.resizeTable(v, srcGrid, dstGrid);
                for (int i = 0; i < depth; i++) out.put("blocks." + i + ".attn.relative_position_bias_table", t);
                return;
            }
            if (k.equals("pos_embed") && srcGrid != dstGrid) {
                int d = v.size(2);
                Tensor grid = v.narrow(1, 1, srcGrid * srcGrid).reshape(1, srcGrid, srcGrid, d).permute(0, 3, 1, 2);
                Tensor resized = Interpolation.resize(grid, dstGrid, dstGrid, Interpolation.Mode.BICUBIC, false).permute(0, 2, 3, 1)
                        .reshape(1, dstGrid * dstGrid, d);
                out.put(k, Tensor.cat(List.of(v.narrow(1, 0, 1), resized), 1).contiguous());
                return;
            }
            out.put(k, v);
        });
        return out;
    }

    /** {@link #fromPretrained(Map, int, boolean, int, int)} at the pre-training resolution. */
    public static Map<String, Tensor> fromPretrained(Map<String, Tensor> mim, int depth, boolean meanPooling) {
        return fromPretrained(mim, depth, meanPooling, 0, 0);
    }

    /** The classifier for this run, its weights from the init checkpoint when there is one; the head scaled by headInitScale. */
    static VisionTransformer model(FinetuneConfig cfg, Checkpoint init, Path initFile, boolean absPosEmbed, int channels, int classes) {
        VisionTransformer m = new VisionTransformer(Generator.derive(cfg.seed(), INIT), cfg.modelConfig(channels, classes, absPosEmbed));
        try (var ignored = Autograd.noGrad()) {
            m.head.weight.mulInPlace(cfg.headInitScale());
            m.head.bias.mulInPlace(cfg.headInitScale());
        }
        if (init == null) return m;
        PretrainConfig p = MimTrainer.savedConfig(init, initFile);
        int srcGrid = p.imgSize() / p.modelPatchSize(), dstGrid = m.config.gridSize();
        if (srcGrid != dstGrid) System.out.printf("finetune: position biases resized from a %dx%d grid (%d px) to %dx%d (%d px), as BEiT does%n", srcGrid, srcGrid,
                p.imgSize(), dstGrid, dstGrid, m.config.imgSize());
        Map<String, Tensor> state = fromPretrained(init.modules().getOrDefault("mim", Map.of()), m.config.depth(), true, srcGrid, dstGrid);
        var report = m.loadStateDict(state, false);
        List<String> missing = report.missing().stream()
                .filter(k -> !k.startsWith("head.") && !k.startsWith("fc_norm.") && !k.endsWith("attn.relative_position_index")).toList();
        if (!missing.isEmpty() || !report.unexpected().isEmpty() || !report.shapeMismatches().isEmpty()) {
            throw new IllegalArgumentException("finetune: --init " + initFile + " does not fit the model: missing " + missing + ", unexpected "
                    + report.unexpected() + ", shape mismatches " + report.shapeMismatches());
        }
        return m;
    }

    /** BEiT's training transform (see the class comment). */
    static Transform trainTransform(double[] mean, double[] std, int size, String aa, double reprob) {
        RandAugment ra = RandAugment.parse(aa, mean);                                 // timm fills geometric ops with the data's mean
        Transform crop = size <= 32 ? Transform.compose(Transforms.resize(size, size), Transforms.randomCrop(size, 4))
                : Transforms.randomResizedCrop(size, 0.08, 1, 3.0 / 4, 4.0 / 3, Resample.BICUBIC);
        Transform t = Transform.compose(crop, Transforms.randomHorizontalFlip(0.5), ra == null ? Transform.identity() : ra,
                Transforms.normalize(mean, std));
        return reprob > 0 ? Transform.compose(t, Transforms.randomErasing(reprob, 0.02, 1.0 / 3, 0.3)) : t;
    }

    static Transform evalTransform(double[] mean, double[] std, int size) {
        if (size <= 32) return Transform.compose(Transforms.resize(size, size), Transforms.normalize(mean, std));
        int shorter = size < 384 ? (int) (size / (224.0 / 256)) : size;              // BEiT: crop_pct 224/256 below 384 px, 1 from there
        return Transform.compose(Transforms.resizeShorter(shorter, Resample.BICUBIC), Transforms.centerCrop(size), Transforms.normalize(mean, std));
    }

    /** The pretrain config stored in an --init checkpoint (an error naming the file when it holds none). */
    public static PretrainConfig initConfig(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("finetune: --init " + file + ": no such file");
        try {
            return MimTrainer.savedConfig(Checkpoint.load(file), file);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("finetune: --init " + file + " is not a pretrain checkpoint: " + e.getMessage(), e);
        }
    }

    /**
     * The init checkpoint and this config completed from it (architecture, digest; the image size its own
     * unless one is given); a missing or wrong file is an error naming it. From scratch, image size 0 means 28.
     */
    public static FinetuneConfig resolveInit(FinetuneConfig cfg) throws IOException {
        if (cfg.init().isEmpty()) return cfg.imgSize() > 0 ? cfg : cfg.withInit("", cfg.model(), 28, cfg.patchSize(), cfg.layerScale());
        Path file = Path.of(cfg.init());
        String sha = MimTrainer.sha256(file, "--init");
        PretrainConfig p = initConfig(file);
        return cfg.withInit(sha, p.model(), cfg.imgSize() > 0 ? cfg.imgSize() : p.imgSize(), p.patchSize(), p.layerScale());
    }

    public TrainLoop.Result run(RunDir.Mode mode) throws IOException {
        DataSources.Splits splits = DataSources.resolve(cfg.data(), badImages.maxPixels());
        int classes = splits.train().classes().size();
        Checkpoint init = cfg.init().isEmpty() ? null : Checkpoint.load(Path.of(cfg.init()));
        boolean abs = init != null && MimTrainer.savedConfig(init, Path.of(cfg.init())).absPosEmbed();
        VisionTransformer model = model(cfg, init, init == null ? null : Path.of(cfg.init()), abs, splits.channels(), classes);
        model.to(device);
        RunDir runDir = RunDir.open(out, mode);
        Dataset train = splits.train().first(cfg.limitTrain()).perClass(cfg.labelFraction());
        int batch = Math.min(cfg.batchSize(), train.size());                         // a label-scarce set smaller than a batch: one batch of all
        double lrPeak = cfg.baseLr() * batch / 256;                                   // the rule on the batch actually used
        AdamW opt = new AdamW(LayerDecay.groups(model, lrPeak, cfg.weightDecay(), cfg.layerDecay(), cfg.decayRelPos()), AdamW.Config.DEFAULT);
        ModelEma ema = cfg.modelEma() > 0 ? new ModelEma(model, new VisionTransformer(new Generator(0), model.config), cfg.modelEma()) : null;
        if (ema != null) ema.shadow().to(device);
        Mixup mixup = new Mixup(cfg.mixup(), cfg.cutmix(), cfg.mixupProb(), cfg.mixupSwitchProb(), cfg.labelSmoothing(), classes);
        String configJson = Json.write(Map.of("finetune", cfg.toMap()));
        Path best = runDir.file(RunDir.BEST);
        double[] bestAccuracy = {Double.NEGATIVE_INFINITY};
        if (mode == RunDir.Mode.RESUME && Files.exists(best) && Checkpoint.load(best).trainerStateMap().get("test_accuracy") instanceof Number n) {
            bestAccuracy[0] = n.doubleValue();
        }
        if (batch < cfg.batchSize()) log.printf("finetune: %d training images, fewer than --batch-size %d: batches of %d%n", train.size(), cfg.batchSize(), batch);
        try (DataLoader loader = new DataLoader(train, trainTransform(splits.mean(), splits.std(), cfg.imgSize(), cfg.aa(), cfg.reprob()), cfg.seed(), badImages.apply(DataLoader.Config.train(batch)));
             DataLoader testLoader = new DataLoader(splits.test(), evalTransform(splits.mean(), splits.std(), cfg.imgSize()), cfg.seed(), badImages.apply(DataLoader.Config.eval(256)))) {
            int spe = loader.batchesPerEpoch();
            if (spe == 0) throw new IllegalArgumentException("finetune: " + train.size() + " images make no batch of " + cfg.batchSize());
            TrainLoop.Settings settings = new TrainLoop.Settings(cfg.epochs(), cfg.saveEvery(), 50, cfg.steps(), cfg.evalEvery());
            long total = settings.total(spe);
            Schedule lr = Schedule.cosine(lrPeak, cfg.minLr(), (int) total, TrainLoop.warmupSteps("finetune", cfg.warmupEpochs(), cfg.warmupSteps(), spe, total));
            var mc = model.config;
            log.println("config " + configJson);
            log.printf("data   train %s, test %s%n", train.describe(), splits.test().describe());
            log.printf("model  ViT %s %dx%d patch %d, width %d, depth %d, heads %d: %,d parameters, %s%n", cfg.model(), mc.imgSize(), mc.imgSize(), mc.patchSize(),
                    mc.embedDim(), mc.depth(), mc.heads(), model.parameterCount(), init == null ? "from scratch" : "from " + cfg.init());
            log.printf("train  %s of %d images, AdamW lr %.3g, layer decay %.3g (patch embedding x %.2g), mixup %.2g / cutmix %.2g, smoothing %.2g, "
                    + "RandAugment %s, erasing %.2g%s, %s, output %s%n", settings.describe(spe), batch, lrPeak, cfg.layerDecay(),
                    LayerDecay.scales(mc.depth(), cfg.layerDecay())[0], cfg.mixup(), cfg.cutmix(), cfg.labelSmoothing(), cfg.aa(), cfg.reprob(),
                    ema == null ? "" : String.format(", EMA %.6g", cfg.modelEma()), device.description(), out.toAbsolutePath());

            TrainLoop.Stage stage = new TrainLoop.Stage() {
                @Override
                public String name() {
                    return "finetune";
                }

                @Override
                public Map<String, Module> modules() {
                    return ema == null ? Map.of("model", model) : Map.of("model", model, "model_ema", ema.shadow());
                }

                @Override
                public Map<String, Optimizer> optimizers() {
                    return Map.of("optimizer", opt);
                }

                @Override
                public void checkResume(Checkpoint c, Path file) {
                    FinetuneConfig saved = savedConfig(c, file);
                    if (!saved.initSha256().equals(cfg.initSha256())) {
                        throw new IllegalArgumentException("--resume: checkpoint " + file + " fine-tunes " + (saved.init().isEmpty() ? "from scratch" : saved.init()
                                + " (sha256 " + saved.initSha256() + ")") + ", not " + (cfg.init().isEmpty() ? "from scratch" : cfg.init() + " (sha256 "
                                + cfg.initSha256() + ")"));
                    }
                    ConfigFields.checkResume(saved, cfg, FinetuneConfig.MAY_CHANGE_ON_RESUME, file);
                }

                @Override
                public TrainLoop.Forward forward(DataLoader.Batch b, long step) {
                    FineTuner.this.step[0] = step + 1;
                    model.train(true);
                    model.setGenerator(Generator.derive(cfg.seed(), STEP, step));
                    opt.applySchedule(lr.at((int) step));
                    Tensor logits, loss;
                    if (mixup.active()) {
                        Mixup.Result r = mixup.apply(b.images(), b.labels(), Generator.derive(cfg.seed(), MIX, step));
                        logits = model.forward(r.images().to(device));
                        loss = Losses.softTargetCrossEntropy(logits, r.targets().to(device));
                    } else {
                        logits = model.forward(b.images().to(device));
                        loss = Losses.crossEntropy(logits, b.labels().to(device), cfg.labelSmoothing());
                    }
                    int[] pred = logits.detach().argmax(1, false).toIntArray(), y = b.labels().toIntArray();
                    int right = 0;
                    for (int i = 0; i < y.length; i++) if (pred[i] == y[i]) right++;
                    return new TrainLoop.Forward(loss, Map.of("accuracy", (double) right));
                }

                @Override
                public void update(long step) {
                    if (cfg.clipGrad() > 0) GradClip.clipGradNorm(model.parameters(), cfg.clipGrad());
                    opt.step();
                    opt.zeroGrad();
                    if (ema != null) ema.update();
                }

                @Override
                public Map<String, Double> evaluate() {
                    double[] ev = ClassifierTrainer.evaluate(model, testLoader);
                    Map<String, Double> m = new LinkedHashMap<>();
                    m.put("test_loss", ev[0]);
                    m.put("test_accuracy", ev[1]);
                    if (ema != null) m.put("ema_test_accuracy", ClassifierTrainer.evaluate((VisionTransformer) ema.shadow(), testLoader)[1]);
                    if (Double.isFinite(ev[0]) && ev[1] > bestAccuracy[0]) {                 // a NaN evaluation never becomes the best
                        bestAccuracy[0] = ev[1];
                        try {
                            Checkpoint.save(best, modules(), Map.of(), null, step[0], configJson, Json.write(Map.of("test_accuracy", ev[1])));
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }
                    m.put("best_test_accuracy", bestAccuracy[0]);
                    return m;
                }

                @Override
                public String describe(Map<String, Double> ev) {
                    return String.format("test accuracy %.2f%% (best %.2f%%%s), test loss %.4f", 100 * ev.get("test_accuracy"), 100 * ev.get("best_test_accuracy"),
                            ev.containsKey("ema_test_accuracy") ? String.format(", EMA %.2f%%", 100 * ev.get("ema_test_accuracy")) : "", ev.get("test_loss"));
                }

                @Override
                public void plot(Path png, List<Map<String, Object>> records) throws IOException {
                    Plots.lossAndAccuracy(png, records, "fine-tuning on " + splits.name());
                }
            };
            return new TrainLoop(stage, runDir, configJson, settings, log).run(loader);
        }
    }
}
