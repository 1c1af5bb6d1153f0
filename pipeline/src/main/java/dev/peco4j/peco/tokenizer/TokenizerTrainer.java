package dev.peco4j.peco.tokenizer;

import dev.peco4j.nn.Adam;
import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Optimizer;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.BadImages;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.perceptual.FeatureNet;
import dev.peco4j.peco.perceptual.MobileNetV2;
import dev.peco4j.peco.perceptual.MocoTrainer;
import dev.peco4j.peco.perceptual.PerceptualLoss;
import dev.peco4j.peco.train.ConfigFields;
import dev.peco4j.peco.train.Plots;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import dev.peco4j.tensor.Autograd;
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
 * {@code peco train-tokenizer}: a VQGAN ({@link VQModel}) trained as taming's VQLPIPSWithDiscriminator
 * trains it, with PeCo's perceptual network in place of LPIPS (see {@link TokenizerConfig} for the
 * loss), through the shared {@link TrainLoop}. Images go in as [−1, 1] (taming's range); the
 * perceptual network sees [0, 1].
 *
 * <p>Each step, in one backward: the autoencoder loss (with the discriminator frozen, as Lightning's
 * toggle_optimizer does) and, once the adversarial loss is on, the discriminator's loss on the
 * detached images and reconstructions; then both Adam(0.5, 0.9) optimizers step. taming recomputes
 * the reconstruction for the discriminator step after the autoencoder's update; this reuses the
 * step's own (one forward fewer, as most re-implementations do).
 *
 * <p>Each epoch's evaluation on the test images: PSNR (of [0, 1] images, the reconstruction clamped),
 * the perceptual distance (when a network is set) and the codebook's usage over the whole set
 * ({@link CodeUsage}).
 */
public final class TokenizerTrainer {
    static final long INIT = 41, STEP = 42;

    private final TokenizerConfig cfg;
    private final Path out;
    private final PrintStream log;
    private BadImages badImages = BadImages.DEFAULT;
    private Device device = Device.cpu();

    public TokenizerTrainer(TokenizerConfig cfg, Path out, PrintStream log) {
        this.cfg = cfg;
        this.out = out;
        this.log = log;
    }

    public TokenizerTrainer badImages(BadImages b) {
        this.badImages = b;
        return this;
    }

    /** Where the tokenizer, its discriminator and the perceptual network run (default the host); batches are copied there. */
    public TokenizerTrainer device(Device d) {
        this.device = d;
        return this;
    }

    /** The config stored in a checkpoint written by this trainer; errors name the file and the field. */
    public static TokenizerConfig savedConfig(Checkpoint c, Path file) {
        return ConfigFields.saved(c, file, "tokenizer", TokenizerConfig.class);
    }

    /**
     * The trained tokenizer of a train-tokenizer checkpoint, in eval mode, with its config (from the
     * checkpoint; its channels from conv_in). Errors name the file.
     */
    public static Trained load(Path file) throws IOException {
        Checkpoint c = Checkpoint.load(file);
        TokenizerConfig cfg = savedConfig(c, file);
        Map<String, Tensor> state = c.modules().get("vqgan");
        Tensor in = state == null ? null : state.get("encoder.conv_in.weight");
        if (in == null || in.dim() != 4) throw new IllegalArgumentException("checkpoint " + file + ": no vqgan.encoder.conv_in.weight (not a train-tokenizer checkpoint?)");
        VQModel m = new VQModel(new Generator(0), cfg.model(in.size(1)));
        try {
            m.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": " + e.getMessage(), e);
        }
        m.eval();
        return new Trained(m, cfg);
    }

    /** A trained tokenizer and the config it was trained with (whose image size its inputs need). */
    public record Trained(VQModel model, TokenizerConfig config) {
        /** The view of an image the tokenizer takes: resized to the training size when one was set. */
        public Transform view() {
            return TokenizerTrainer.view(config);
        }
    }

    static Transform view(TokenizerConfig c) {
        return c.imgSize() > 0 ? Transforms.resize(c.imgSize(), c.imgSize()) : Transform.identity();
    }

    /** The frozen perceptual loss of a --perceptual value on device, or null for "none". */
    static PerceptualLoss perceptualLoss(TokenizerConfig cfg, DataSources.Splits splits, Device device) throws IOException {
        PerceptualLoss.Norm norm = PerceptualLoss.Norm.valueOf(cfg.perceptualNorm().toUpperCase(java.util.Locale.ROOT));
        if (cfg.perceptual().equals("none")) return null;
        if (cfg.perceptual().equals("mobilenetv2")) {
            MobileNetV2 net = MobileNetV2.nsfwjs(MobileNetV2.NSFWJS_TGZ);
            net.to(device);
            return new PerceptualLoss(FeatureNet.mobileNetV2(net, MobileNetV2.DEFAULT_TAPS, 0), norm, null);
        }
        if (cfg.perceptual().startsWith("vit:")) {
            VisionTransformer vit = mocoStyleVit(Path.of(cfg.perceptual().substring("vit:".length())));
            vit.to(device);
            int[] blocks = FeatureNet.evenlySpaced(vit.config.depth(), Math.min(4, vit.config.depth()));
            return new PerceptualLoss(FeatureNet.vit(vit, blocks, IMAGENET_MEAN, IMAGENET_STD), norm, null);
        }
        VisionTransformer vit = MocoTrainer.loadEncoder(Path.of(cfg.perceptual().substring("moco:".length())));
        vit.to(device);
        int[] blocks = FeatureNet.evenlySpaced(vit.config.depth(), Math.min(4, vit.config.depth()));
        return new PerceptualLoss(FeatureNet.vit(vit, blocks, splits.mean(), splits.std()), norm, null);
    }

    static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406}, IMAGENET_STD = {0.229, 0.224, 0.225};

    /**
     * A MoCo-v3-style ViT from a safetensors file with timm's names (scripts/convert-moco-v3.py), its
     * shape read from the tensors: patch size and width from patch_embed.proj.weight, depth from the
     * blocks, image size from pos_embed; heads = width / 64 (timm's head width). Loaded strictly.
     */
    static VisionTransformer mocoStyleVit(Path file) throws IOException {
        Map<String, Tensor> t = dev.peco4j.nn.io.SafeTensors.read(file).tensors();
        Tensor proj = t.get("patch_embed.proj.weight"), pos = t.get("pos_embed");
        if (proj == null || proj.dim() != 4 || pos == null || pos.dim() != 3) {
            throw new IllegalArgumentException("--perceptual vit:" + file + ": expected a ViT with timm's names (patch_embed.proj.weight, pos_embed)");
        }
        int width = proj.size(0), patch = proj.size(2), depth = 0;
        while (t.containsKey("blocks." + depth + ".norm1.weight")) depth++;
        int grid = (int) Math.round(Math.sqrt(pos.size(1) - 1));
        if (depth == 0 || grid * grid != pos.size(1) - 1) {
            throw new IllegalArgumentException("--perceptual vit:" + file + ": no blocks.N, or pos_embed " + pos.shape() + " is not 1 + a square grid");
        }
        VisionTransformer.Config c = VisionTransformer.Config.mocoV3(grid * patch, patch, width, depth, Math.max(1, width / 64)).withInChans(proj.size(1));
        return VisionTransformer.load(file, c);
    }

    static Tensor pixelLoss(String kind, Tensor x, Tensor y) {
        Tensor d = x.sub(y);
        return kind.equals("l1") ? d.abs().mean() : d.square().mean();
    }

    /** The discriminator's loss on real and fake logits: hinge ½(mean relu(1 − r) + mean relu(1 + f)) or vanilla ½(mean softplus(−r) + mean softplus(f)). */
    static Tensor discLoss(String kind, Tensor real, Tensor fake) {
        if (kind.equals("hinge")) return real.neg().add(1.0).relu().mean().add(fake.add(1.0).relu().mean()).mul(0.5);
        return softplus(real.neg()).mean().add(softplus(fake).mean()).mul(0.5);
    }

    /** log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|). */
    static Tensor softplus(Tensor x) {
        return x.relu().add(x.abs().neg().exp().add(1.0).log());
    }

    /**
     * VQGAN's adaptive weight ‖∇_W nll‖ / (‖∇_W g‖ + 1e-4), clamped to [0, 1e4], with W the decoder's
     * last layer (taming's calculate_adaptive_weight, before disc_weight). The graph is kept.
     */
    public static double adaptiveWeight(Tensor nll, Tensor g, Tensor lastLayer) {
        double a = Autograd.grad(nll, List.of(lastLayer), true).get(0).norm().item();
        double b = Autograd.grad(g, List.of(lastLayer), true).get(0).norm().item();
        return Math.min(Math.max(a / (b + 1e-4), 0), 1e4);
    }

    private static void finite(String term, Tensor t, long step) {
        double v = t.item();
        if (!Double.isFinite(v)) throw new TrainLoop.NonFiniteLossException("train-tokenizer: the " + term + " is " + v + " at step " + step);
    }

    /** taming's two optimizers, Adam(0.5, 0.9) at lr: the autoencoder's with the quantizer, and the discriminator's. */
    public record Optimizers(Adam autoencoder, Adam discriminator) {
        public static Optimizers of(VQModel model, double lr) {
            AdamW.Config betas = new AdamW.Config(0.5, 0.9, 1e-8, false);
            List<Tensor> ae = model.autoencoderParameters().stream().filter(Tensor::requiresGrad).toList();
            return new Optimizers(new Adam(List.of(new ParamGroup("autoencoder", ae, lr, 0)), betas),
                    new Adam(List.of(new ParamGroup("discriminator", model.loss.parameters(), lr, 0)), betas));
        }

        /** Steps the autoencoder, and the discriminator when its GAN term was on; all gradients zeroed. */
        public void step(boolean gan) {
            autoencoder.step();
            autoencoder.zeroGrad();
            if (gan) discriminator.step();
            discriminator.zeroGrad();
        }
    }

    /**
     * The loss of one training step on images x01 (B, C, H, W) in [0, 1] (taming's VQLPIPSWithDiscriminator
     * with our perceptual loss): pixels + perceptual + VQ, and from --disc-start the generator's GAN term
     * under the adaptive weight plus the discriminator's own loss; the sums hold each term × batch.
     * Used by the trainer and by the whole-step benchmark (bench/.../Steps.java).
     */
    public static TrainLoop.Forward forward(VQModel model, PerceptualLoss perceptual, TokenizerConfig cfg, Tensor x01, long step) {
        Tensor x = x01.mul(2.0).sub(1.0);
        VectorQuantizer.Result q = model.encode(x);
        Tensor xrec = model.decode(q.quantized());
        Map<String, Double> sums = new LinkedHashMap<>();
        int n = x.size(0);
        Tensor pix = pixelLoss(cfg.pixelLoss(), x, xrec);
        finite("pixel loss", pix, step);
        sums.put("pixel_loss", pix.item() * n);
        Tensor nll = pix;
        if (perceptual != null && cfg.perceptualWeight() > 0) {
            Tensor p = perceptual.forward(xrec.add(1.0).mul(0.5), x01);
            finite("perceptual loss", p, step);
            sums.put("perceptual_loss", p.item() * n);
            nll = nll.add(p.mul(cfg.perceptualWeight()));
        }
        finite("VQ loss", q.loss(), step);
        sums.put("vq_loss", q.loss().item() * n);
        Tensor total = nll.add(q.loss().mul(cfg.codebookWeight()));
        if (cfg.gan() && step >= cfg.discStart()) {
            NLayerDiscriminator d = model.loss.discriminator;
            Tensor g;
            d.requiresGrad(false);                       // recorded frozen: the generator's loss does not train D
            try {
                g = d.forward(xrec).mean().neg();
            } finally {
                d.requiresGrad(true);
            }
            finite("generator loss", g, step);
            double w = adaptiveWeight(nll, g, model.decoder.lastLayer()) * cfg.discWeight();
            if (!Double.isFinite(w)) throw new TrainLoop.NonFiniteLossException("train-tokenizer: the adaptive weight is " + w + " at step " + step);
            Tensor dl = discLoss(cfg.discLoss(), d.forward(x.detach()), d.forward(xrec.detach()));
            finite("discriminator loss", dl, step);
            sums.put("g_loss", g.item() * n);
            sums.put("d_weight", w * n);
            sums.put("d_loss", dl.item() * n);
            total = total.add(g.mul(w)).add(dl);
        }
        return new TrainLoop.Forward(total, sums);
    }

    public TrainLoop.Result run(RunDir.Mode mode) throws IOException {
        RunDir runDir = RunDir.open(out, mode);
        DataSources.Splits splits = DataSources.resolve(cfg.data(), badImages.maxPixels());
        Dataset train = splits.train().first(cfg.limitTrain());
        Dataset test = splits.test().first(cfg.evalImages());
        VQModel model = new VQModel(Generator.derive(cfg.seed(), INIT), cfg.model(splits.channels()));
        model.to(device);
        PerceptualLoss perceptual = perceptualLoss(cfg, splits, device);
        Optimizers opts = Optimizers.of(model, cfg.lr());
        String configJson = Json.write(Map.of("tokenizer", cfg.toMap()));
        Transform evalView = view(cfg);
        Transform trainView = Transform.compose(evalView, Transforms.randomHorizontalFlip(0.5));
        try (DataLoader loader = new DataLoader(train, trainView, cfg.seed(), badImages.apply(DataLoader.Config.train(cfg.batchSize())));
             DataLoader testLoader = new DataLoader(test, evalView, cfg.seed(), badImages.apply(DataLoader.Config.eval(256)))) {
            int spe = loader.batchesPerEpoch();
            if (spe == 0) throw new IllegalArgumentException("train-tokenizer: " + train.size() + " images make no batch of " + cfg.batchSize());
            VQModel.Config mc = model.config;
            log.println("config " + configJson);
            log.printf("data   train %s, test %s%n", train.describe(), test.describe());
            log.printf("model  VQGAN %s: f %d, %d codes of %d, %,d parameters (encoder %,d, decoder %,d, discriminator %,d)%n", cfg.preset(), mc.factor(),
                    mc.nEmbed(), mc.embedDim(), model.parameterCount(), model.encoder.parameterCount(), model.decoder.parameterCount(),
                    model.loss.parameterCount());
            log.printf("loss   %s pixels + %s perceptual (%s) + %s VQ (%s)%s%n", cfg.pixelLoss(), cfg.perceptualWeight(), cfg.perceptual(), cfg.codebookWeight(),
                    cfg.lossForm(), cfg.gan() ? " + adaptive·" + cfg.discWeight() + " GAN (" + cfg.discLoss() + ") from step " + cfg.discStart() : "");
            log.printf("train  %d epochs x %d steps of %d images, Adam(0.5, 0.9) lr %.3g, %s, output %s%n", cfg.epochs(), spe, cfg.batchSize(),
                    cfg.lr(), device.description(), out.toAbsolutePath());

            TrainLoop.Stage stage = new TrainLoop.Stage() {
                @Override
                public String name() {
                    return "train-tokenizer";
                }

                @Override
                public Map<String, Module> modules() {
                    return Map.of("vqgan", model);
                }

                @Override
                public Map<String, Optimizer> optimizers() {
                    return Map.of("autoencoder", opts.autoencoder(), "discriminator", opts.discriminator());
                }

                @Override
                public void checkResume(Checkpoint c, Path file) {
                    ConfigFields.checkResume(savedConfig(c, file), cfg, TokenizerConfig.MAY_CHANGE_ON_RESUME, file);
                }

                @Override
                public TrainLoop.Forward forward(DataLoader.Batch b, long step) {
                    model.train(true);
                    model.setGenerator(Generator.derive(cfg.seed(), STEP, step));
                    return TokenizerTrainer.forward(model, perceptual, cfg, b.images().to(device), step);
                }

                @Override
                public void update(long step) {
                    opts.step(cfg.gan() && step >= cfg.discStart());
                }

                @Override
                public Map<String, Double> evaluate() {
                    CodeUsage usage = new CodeUsage(model.config.nEmbed());
                    Map<String, Double> ev = TokenizerTrainer.evaluate(model, testLoader, perceptual, usage);
                    try {
                        Plots.codeUsage(runDir.file(RunDir.CODES), usage.counts(), String.format("test codes: %d of %d used, perplexity %.1f",
                                usage.used(), model.config.nEmbed(), usage.perplexity()));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    return ev;
                }

                @Override
                public String describe(Map<String, Double> ev) {
                    return String.format("PSNR %.2f dB, codes used %.1f%% (perplexity %.1f)%s", ev.get("psnr"), 100 * ev.get("codes_used"),
                            ev.get("perplexity"), ev.containsKey("perceptual_distance") ? String.format(", perceptual %.4f", ev.get("perceptual_distance")) : "");
                }

                @Override
                public void plot(Path png, List<Map<String, Object>> records) throws IOException {
                    Plots.charts(png, records, "VQGAN on " + splits.name(), "loss", List.of(new Plots.Series("train", "loss", "train loss", 1)),
                            "PSNR (dB) / codes used (%)", List.of(new Plots.Series("eval", "psnr", "PSNR", 1),
                                    new Plots.Series("eval", "codes_used", "codes used", 100)));
                }
            };
            return new TrainLoop(stage, runDir, configJson, new TrainLoop.Settings(cfg.epochs(), cfg.saveEvery(), 50), log).run(loader);
        }
    }

    /** PSNR, perceptual distance and codebook usage (counted into usage) of a tokenizer on a loader's images (in [0, 1]). */
    public static Map<String, Double> evaluate(VQModel model, DataLoader loader, PerceptualLoss perceptual, CodeUsage usage) {
        model.eval();
        double psnr = 0, perc = 0;
        int n = 0;
        try (var ignored = Autograd.noGrad(); DataLoader.Epoch it = loader.epoch(0, 0)) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                if (b.size() == 0) continue;
                Tensor x01 = b.images().to(model.device());
                VectorQuantizer.Result q = model.encode(x01.mul(2.0).sub(1.0));
                usage.add(q.indices().toIntArray());
                Tensor rec = model.decode(q.quantized()).clamp(-1, 1).add(1.0).mul(0.5);
                double[] mse = rec.sub(x01).square().flatten(1, 3).mean(1).toDoubleArray();
                for (double m : mse) psnr += 10 * Math.log10(1 / Math.max(m, 1e-10));
                if (perceptual != null) perc += perceptual.forward(rec, x01).item() * b.size();
                n += b.size();
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("psnr", psnr / n);
        if (perceptual != null) out.put("perceptual_distance", perc / n);
        out.put("codes_used", usage.usedFraction());
        out.put("perplexity", usage.perplexity());
        out.put("dead_codes", (double) usage.dead());
        return out;
    }
}
