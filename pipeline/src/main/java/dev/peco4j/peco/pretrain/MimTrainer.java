package dev.peco4j.peco.pretrain;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.GradClip;
import dev.peco4j.nn.Losses;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Optimizer;
import dev.peco4j.nn.Schedule;
import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.BadImages;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.Resample;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.tokenizer.TokenProbe;
import dev.peco4j.peco.tokenizer.TokenizerTrainer;
import dev.peco4j.peco.tokenizer.VQModel;
import dev.peco4j.peco.train.ConfigFields;
import dev.peco4j.peco.train.Plots;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code peco pretrain}: BEiT's masked image modeling ({@link MaskedImageModel}) through the shared
 * {@link TrainLoop}. Each image gives two views of one random resized crop (BEiT's
 * DataAugmentationForBEiT: color jitter, horizontal flip, the crop; the ViT's view at the image size
 * with PIL's bicubic filter, normalized; the tokenizer's view at grid × its downsampling factor with
 * Lanczos, in [0, 1], mapped to the tokenizer's [−1, 1] as it is encoded) and a fresh block-wise mask ({@link MaskingGenerator}) drawn from (seed, epoch,
 * index). The ViT sees its view with the masked patches replaced by the mask token and predicts, at the
 * masked positions only:
 * <ul>
 *   <li>{@code tokens}: the code of each patch from a frozen tokenizer (a train-tokenizer checkpoint,
 *       run in eval mode under no-grad on every batch); loss the cross-entropy over all masked
 *       positions of the batch; its accuracy beside chance 1/K;</li>
 *   <li>{@code pixels}: the patch's pixels normalized by their own mean and variance (MAE's
 *       norm_pix_loss; the BEiT paper's "predict pixels" ablation); loss their mean squared error.</li>
 * </ul>
 * AdamW (0.9, 0.999) with BEiT's no-weight-decay rule, lr = base lr × batch / 256 on a per-step cosine
 * with linear warm-up down to min lr, gradient-norm clipping. After each epoch the same metrics on the
 * test images with fixed masks, and the share of the codebook the predictions use.
 */
public final class MimTrainer {
    static final long INIT = 71, STEP = 72, EVAL_MASK = 73;

    private final PretrainConfig cfg;
    private final Path out;
    private final PrintStream log;
    private BadImages badImages = BadImages.DEFAULT;
    private Device device = Device.cpu();

    /** A run of cfg; for the token target the tokenizer file's sha256 is computed here and recorded in the config. */
    public MimTrainer(PretrainConfig cfg, Path out, PrintStream log) {
        this.cfg = cfg.target().equals("tokens") ? cfg.withTokenizerSha256(sha256(Path.of(cfg.tokenizer()), "--tokenizer")) : cfg;
        this.out = out;
        this.log = log;
    }

    public MimTrainer badImages(BadImages b) {
        this.badImages = b;
        return this;
    }

    /** Where the model (and the tokenizer that gives its targets) runs (default the host); batches are copied there. */
    public MimTrainer device(Device d) {
        this.device = d;
        return this;
    }

    /** The config stored in a checkpoint written by this trainer (tokenizer_groups, added later, is taming's 32 where absent); errors name the file and the field. */
    public static PretrainConfig savedConfig(Checkpoint c, Path file) {
        return ConfigFields.saved(c, file, "pretrain", PretrainConfig.class, Map.of("tokenizer_groups", 32, "steps", 0, "warmup_steps", -1)); // fields added later
    }

    /** The stream the model of {@code pretrain --seed seed} is initialized from. */
    public static Generator initGenerator(long seed) {
        return Generator.derive(seed, INIT);
    }

    /** The SHA-256 of a file, in hex; a missing or unreadable file is an error naming it and what it is for. */
    public static String sha256(Path file, String what) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(what + " " + file + ": no such file");
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " " + file + ": cannot be read (" + e.getMessage() + ")", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The frozen tokenizer of a train-tokenizer checkpoint, or of a taming VQGAN converted by
     * scripts/convert-taming.py ({@link VQModel#loadTaming}), checked against the data and the patch grid:
     * its input channels must be the data's, and its code grid on views of tokenizerSize must be grid × grid.
     */
    static VQModel tokenizer(PretrainConfig cfg, int channels, int grid) {
        Path file = Path.of(cfg.tokenizer());
        VQModel m;
        try {
            boolean checkpoint = dev.peco4j.nn.io.SafeTensors.read(file).metadata().containsKey("format");
            m = checkpoint ? TokenizerTrainer.load(file).model() : VQModel.loadTaming(file, cfg.tokenizerGroups());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("pretrain: --tokenizer " + file + " is neither a train-tokenizer checkpoint nor a converted taming VQGAN: "
                    + e.getMessage(), e);
        }
        m.freeze();
        m.eval();
        if (m.config.inChannels() != channels) {
            throw new IllegalArgumentException("pretrain: --tokenizer " + file + " takes " + m.config.inChannels() + "-channel images, the data has " + channels);
        }
        int f = m.config.factor(), size = cfg.tokenizerSize() > 0 ? cfg.tokenizerSize() : grid * f;
        if (size % f != 0 || size / f != grid) {
            throw new IllegalArgumentException("pretrain: the tokenizer's code grid does not match the patch grid: --tokenizer-size " + size + " with its "
                    + "downsampling factor " + f + " gives " + (size / f) + "x" + (size / f) + " codes" + (size % f != 0 ? " (not even a multiple)" : "")
                    + ", the ViT has " + grid + "x" + grid + " patches (" + cfg.imgSize() + " px / patch " + cfg.modelPatchSize() + "); use --tokenizer-size "
                    + grid * f + " or 0");
        }
        return m;
    }

    /**
     * The two training views of BEiT's DataAugmentationForBEiT, to be drawn with {@link
     * DataLoader.Config#sharedDraws} so both see the same jitter, flip and crop: the ViT's (bicubic,
     * normalized) and the tokenizer's (Lanczos, in [0, 1]; tokenSize 0: none, for the pixel target).
     */
    public static List<Transform> views(DataSources.Splits s, PretrainConfig cfg, int tokenSize) {
        Transform common = cfg.colorJitter() > 0 ? Transforms.colorJitter(cfg.colorJitter(), cfg.colorJitter(), cfg.colorJitter()) : Transform.identity();
        common = Transform.compose(common, Transforms.randomHorizontalFlip(0.5));
        Transform vit = Transform.compose(common, Transforms.randomResizedCrop(cfg.imgSize(), cfg.cropMin(), 1, 3.0 / 4, 4.0 / 3, Resample.BICUBIC),
                Transforms.normalize(s.mean(), s.std()));
        if (tokenSize == 0) return List.of(vit);
        return List.of(vit, Transform.compose(common, Transforms.randomResizedCrop(tokenSize, cfg.cropMin(), 1, 3.0 / 4, 4.0 / 3, Resample.LANCZOS)));
    }

    /** The evaluation views: the whole image at each size. */
    static List<Transform> evalViews(DataSources.Splits s, PretrainConfig cfg, int tokenSize) {
        Transform vit = Transform.compose(Transforms.resize(cfg.imgSize(), cfg.imgSize(), Resample.BICUBIC), Transforms.normalize(s.mean(), s.std()));
        return tokenSize == 0 ? List.of(vit) : List.of(vit, Transforms.resize(tokenSize, tokenSize, Resample.LANCZOS));
    }

    /** A batch's masks (B, N) as a bool tensor; the mask of the sample at position p of the epoch draws from derive(seed, stream, epoch, p). */
    public static Tensor masks(MaskingGenerator gen, long seed, long stream, int epoch, int[] positions) {
        int n = gen.config.numPatches(), count = positions.length;
        boolean[] all = new boolean[count * n];
        for (int j = 0; j < count; j++) System.arraycopy(gen.mask(Generator.derive(seed, stream, epoch, positions[j])), 0, all, j * n, n);
        return Tensor.ofBools(all, count, n);
    }

    /** The tokenizer's codes of its views (B, C, s, s) in [0, 1], flattened row-major to (B, h·w) int32. */
    static Tensor codes(VQModel tok, Tensor view01) {
        Tensor c = TokenProbe.codes(tok, view01);                                     // (B, h, w)
        return c.reshape(c.size(0), c.size(1) * c.size(2));
    }

    /** (B, C, H, W) → (B, N, P·P·C), patches row-major, each patch's pixels as (p, q, c) (MAE's patchify). */
    public static Tensor patchify(Tensor x, int p) {
        int b = x.size(0), c = x.size(1), h = x.size(2) / p, w = x.size(3) / p;
        return x.reshape(b, c, h, p, w, p).permute(0, 2, 4, 3, 5, 1).reshape(b, h * w, p * p * c);
    }

    /** Each row normalized by its own mean and (unbiased) variance: MAE's norm_pix_loss target. */
    static Tensor normalizePatches(Tensor t) {
        Tensor mean = t.mean(new int[] {-1}, true), var = t.var(new int[] {-1}, 1, true);
        return t.sub(mean).div(var.add(1e-6).sqrt());
    }

    /** One batch's loss, masked positions, correct predictions and the predicted codes. */
    public record Step(Tensor loss, int masked, int correct, int[] predicted, int[] targets) {}

    public static Step step(MaskedImageModel model, VQModel tok, Tensor images, Tensor tokView, Tensor hostMask) {
        Device d = model.device();
        Tensor x = images.to(d), mask = hostMask.to(d);
        Tensor out = model.forward(x, mask);                                          // (M, K)
        int m = out.size(0);
        if (tok == null) {
            Tensor target;
            try (var ignored = Autograd.noGrad()) {
                target = normalizePatches(patchify(x, model.config.patchSize()).maskedRows(mask));
            }
            return new Step(Losses.mse(out, target), m, 0, null, null);
        }
        Tensor labels = codes(tok, tokView.to(d)).maskedRows(mask);                        // (M)
        Tensor loss = Losses.crossEntropy(out, labels, 0);
        int[] pred = out.detach().argmax(1, false).toIntArray(), want = labels.toIntArray();
        int correct = 0;
        for (int i = 0; i < m; i++) if (pred[i] == want[i]) correct++;
        return new Step(loss, m, correct, pred, want);
    }

    public TrainLoop.Result run(RunDir.Mode mode) throws IOException {
        DataSources.Splits splits = DataSources.resolve(cfg.data(), badImages.maxPixels());
        int channels = splits.channels();
        int grid = cfg.modelConfig(channels, 1).vit().gridSize();                    // checks the image and patch sizes
        MaskingGenerator masking = new MaskingGenerator(cfg.masking(grid));
        boolean tokens = cfg.target().equals("tokens");
        VQModel tok = tokens ? tokenizer(cfg, channels, grid) : null;
        int patch = cfg.modelPatchSize(), vocab = tokens ? tok.config.nEmbed() : patch * patch * channels;
        int tokenSize = !tokens ? 0 : cfg.tokenizerSize() > 0 ? cfg.tokenizerSize() : grid * tok.config.factor();
        RunDir runDir = RunDir.open(out, mode);                                      // every check above runs before the folder is touched
        Dataset train = splits.train().first(cfg.limitTrain());
        Dataset test = splits.test().first(cfg.evalImages());
        MaskedImageModel model = new MaskedImageModel(initGenerator(cfg.seed()), cfg.modelConfig(channels, vocab));
        model.to(device);
        if (tok != null) tok.to(device);

        AdamW opt = new AdamW(model.weightDecayGroups(cfg.lr(), cfg.weightDecay()), AdamW.Config.DEFAULT);
        String configJson = Json.write(Map.of("pretrain", cfg.toMap()));
        DataLoader.Config lc = badImages.apply(DataLoader.Config.train(cfg.batchSize())).sharedDraws(true);
        DataLoader.Config ec = badImages.apply(DataLoader.Config.eval(256));
        try (DataLoader loader = new DataLoader(train, views(splits, cfg, tokenSize), cfg.seed(), lc);
             DataLoader testLoader = new DataLoader(test, evalViews(splits, cfg, tokenSize), cfg.seed(), ec)) {
            int spe = loader.batchesPerEpoch();
            if (spe == 0) throw new IllegalArgumentException("pretrain: " + train.size() + " images make no batch of " + cfg.batchSize());
            TrainLoop.Settings settings = new TrainLoop.Settings(cfg.epochs(), cfg.saveEvery(), 50, cfg.steps(), 1);
            long total = settings.total(spe);
            int warmup = TrainLoop.warmupSteps("pretrain", cfg.warmupEpochs(), cfg.warmupSteps(), spe, total);
            Schedule lr = Schedule.cosine(cfg.lr(), cfg.minLr(), (int) total, warmup);
            logSetup(model, masking, tok, vocab, tokenSize, train, test, settings.describe(spe), warmup, configJson);

            TrainLoop.Stage stage = new TrainLoop.Stage() {
                @Override
                public String name() {
                    return "pretrain";
                }

                @Override
                public Map<String, Module> modules() {
                    return Map.of("mim", model);
                }

                @Override
                public Map<String, Optimizer> optimizers() {
                    return Map.of("optimizer", opt);
                }

                @Override
                public void checkResume(Checkpoint c, Path file) {
                    PretrainConfig saved = savedConfig(c, file);
                    if (saved.target().equals("tokens") && tokens && !saved.tokenizerSha256().equals(cfg.tokenizerSha256())) {
                        throw new IllegalArgumentException("--resume: checkpoint " + file + " was trained on the codes of tokenizer " + saved.tokenizer()
                                + " (sha256 " + saved.tokenizerSha256() + "); --tokenizer " + cfg.tokenizer() + " is another file (sha256 " + cfg.tokenizerSha256()
                                + "). Resume with the same tokenizer, or start a new run in another --out");
                    }
                    ConfigFields.checkResume(saved, cfg, PretrainConfig.MAY_CHANGE_ON_RESUME, file);
                }

                @Override
                public TrainLoop.Forward forward(DataLoader.Batch b, long step) {
                    model.train(true);
                    model.setGenerator(Generator.derive(cfg.seed(), STEP, step));
                    opt.applySchedule(lr.at((int) step));
                    Tensor mask = masks(masking, cfg.seed(), MaskingGenerator.MASK, b.epoch(), b.positions());
                    if (b.size() == 0) throw new IllegalStateException("pretrain: batch " + b.index() + " of epoch " + (b.epoch() + 1) + " lost all its images (--bad-images SKIP)");
                    Step s = MimTrainer.step(model, tok, b.images(), tokens ? b.views().get(1) : null, mask);
                    Map<String, Double> sums = new LinkedHashMap<>();
                    if (tokens) sums.put("accuracy", (double) s.correct() / s.masked() * b.size());
                    return new TrainLoop.Forward(s.loss(), sums);
                }

                @Override
                public void update(long step) {
                    if (cfg.clipGrad() > 0) GradClip.clipGradNorm(model.parameters(), cfg.clipGrad());
                    opt.step();
                    opt.zeroGrad();
                }

                @Override
                public Map<String, Double> evaluate() {
                    return MimTrainer.evaluate(model, tok, masking, testLoader, cfg.seed(), vocab);
                }

                @Override
                public String describe(Map<String, Double> ev) {
                    if (!tokens) return String.format("test loss %.4f", ev.get("test_loss"));
                    return String.format("test loss %.4f, masked-token accuracy %.2f%% (chance %.2f%%, most frequent code %.2f%%), %d of %d codes predicted",
                            ev.get("test_loss"), 100 * ev.get("test_accuracy"), 100 * ev.get("chance_accuracy"), 100 * ev.get("majority_accuracy"),
                            Math.round(ev.get("codes_predicted") * vocab), vocab);
                }

                @Override
                public void plot(Path png, List<Map<String, Object>> records) throws IOException {
                    if (tokens) {
                        Plots.lossAndAccuracy(png, records, "MIM (tokens) on " + splits.name());
                    } else {                                                        // no accuracy: the loss beside the learning rate
                        Plots.charts(png, records, "MIM (pixels) on " + splits.name(), "loss", List.of(new Plots.Series("train", "loss", "train", 1),
                                new Plots.Series("eval", "test_loss", "test", 1)), "learning rate", List.of(new Plots.Series("train", "lr", "lr", 1)));
                    }
                }
            };
            return new TrainLoop(stage, runDir, configJson, settings, log).run(loader);
        }
    }

    private void logSetup(MaskedImageModel model, MaskingGenerator masking, VQModel tok, int vocab, int tokenSize, Dataset train, Dataset test,
                                       String length, int warmup, String configJson) {
        var v = model.config;
        log.println("config " + configJson);
        log.printf("data   train %s (labels unused), test %s%n", train.describe(), test.describe());
        log.printf("model  MIM ViT %s: %dx%d patch %d (%dx%d grid), width %d, depth %d, heads %d: %,d backbone parameters, head %d outputs%n", cfg.model(),
                v.imgSize(), v.imgSize(), v.patchSize(), v.gridSize(), v.gridSize(), v.embedDim(), v.depth(), v.heads(), model.backboneParameterCount(), vocab);
        log.printf("mask   %s%n", masking);
        if (tok != null) {
            log.printf("target codes of tokenizer %s (sha256 %s…): f %d, %d codes, its view %dx%d (Lanczos) from the same crop%n", cfg.tokenizer(),
                    cfg.tokenizerSha256().substring(0, 12), tok.config.factor(), vocab, tokenSize, tokenSize);
        } else {
            log.printf("target the masked patches' pixels, each patch normalized (MAE's norm_pix_loss), MSE%n");
        }
        log.printf("train  %s of %d images, AdamW lr %.3g (cosine to %.1g, %d warm-up steps), wd %.3g, clip %.3g, %s, output %s%n",
                length, cfg.batchSize(), cfg.lr(), cfg.minLr(), warmup, cfg.weightDecay(), cfg.clipGrad(), device.description(),
                out.toAbsolutePath());
    }

    /**
     * Loss and (for tokens) masked-token accuracy on the test loader with fixed masks (stream EVAL_MASK,
     * epoch 0), beside chance (1/K) and the accuracy of always predicting the most frequent target code;
     * codes_predicted / codes_in_targets: the share of the K codes that appear among the predictions / targets.
     */
    static Map<String, Double> evaluate(MaskedImageModel model, VQModel tok, MaskingGenerator masking, DataLoader test, long seed, int vocab) {
        model.eval();
        double loss = 0;
        long masked = 0, correct = 0;
        long[] predicted = new long[vocab], targets = new long[vocab];
        try (var ignored = Autograd.noGrad(); DataLoader.Epoch it = test.epoch(0, 0)) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                Tensor mask = masks(masking, seed, EVAL_MASK, 0, b.positions());         // the test loader keeps the dataset's order
                Step s = step(model, tok, b.images(), tok != null ? b.views().get(1) : null, mask);
                loss += s.loss().item() * s.masked();
                masked += s.masked();
                correct += s.correct();
                if (s.predicted() != null) {
                    for (int p : s.predicted()) predicted[p]++;
                    for (int t : s.targets()) targets[t]++;
                }
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("test_loss", loss / masked);
        if (tok != null) {
            long most = 0;
            int usedP = 0, usedT = 0;
            for (int k = 0; k < vocab; k++) {
                most = Math.max(most, targets[k]);
                if (predicted[k] > 0) usedP++;
                if (targets[k] > 0) usedT++;
            }
            out.put("test_accuracy", (double) correct / masked);
            out.put("chance_accuracy", 1.0 / vocab);
            out.put("majority_accuracy", (double) most / masked);
            out.put("codes_predicted", (double) usedP / vocab);
            out.put("codes_in_targets", (double) usedT / vocab);
        }
        return out;
    }
}
