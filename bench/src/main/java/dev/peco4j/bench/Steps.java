package dev.peco4j.bench;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.GradClip;
import dev.peco4j.nn.Losses;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.peco.finetune.FinetuneConfig;
import dev.peco4j.peco.finetune.LayerDecay;
import dev.peco4j.peco.finetune.Mixup;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.perceptual.FeatureNet;
import dev.peco4j.peco.perceptual.MocoTrainer;
import dev.peco4j.peco.perceptual.MocoV3;
import dev.peco4j.peco.perceptual.PerceptualConfig;
import dev.peco4j.peco.perceptual.PerceptualLoss;
import dev.peco4j.peco.pretrain.MaskedImageModel;
import dev.peco4j.peco.pretrain.MaskingGenerator;
import dev.peco4j.peco.pretrain.MimTrainer;
import dev.peco4j.peco.pretrain.PretrainConfig;
import dev.peco4j.peco.tokenizer.TokenizerConfig;
import dev.peco4j.peco.tokenizer.TokenizerTrainer;
import dev.peco4j.peco.tokenizer.VQModel;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One training step of every PeCo stage, on random images, built from the trainers' own parts (the
 * models, {@link MimTrainer#step}, {@link TokenizerTrainer#forward}, the optimizers): forward, loss,
 * backward, optimizer step. Each in the demo's configuration (Fashion-MNIST, 1×28×28, the CLI's
 * defaults) and at 224 px (ViT-B/16 batch 8, the f16 VQGAN batch 2). bench/steps_torch.py defines
 * the same steps in PyTorch; {@link StepBench} times one case per JVM.
 */
public final class Steps {
    private Steps() {}

    /** A training step and the images it consumes. */
    public record Step(Runnable run, int images, long params) {}

    /** Case name → step factory on the host, in bench/steps_torch.py's names. */
    public static Map<String, Supplier<Step>> cases() {
        return cases(Device.cpu());
    }

    /** Case name → step factory with the models, their optimizer state and the batches on dev; a step ends when dev has finished it. */
    public static Map<String, Supplier<Step>> cases(Device dev) {
        Map<String, Supplier<Step>> m = new LinkedHashMap<>();
        m.put("step moco tiny 28px b128", () -> moco(dev, perceptualTiny(), 1, 128));
        m.put("step tokenizer small 28px b32", () -> tokenizer(dev, VQModel.Config.small(1), perceptualTiny(), 1, 28, 32));
        m.put("step mim tiny 28px b128", () -> mim(dev, "tiny", 28, 4, 1, 256, VQModel.Config.small(1), 128));
        m.put("step finetune tiny 28px b128", () -> finetune(dev, "tiny", 28, 4, 1, 10, 128));
        m.put("step moco vit-b16 224px b8", () -> moco(dev, perceptualBase(), 3, 8));
        m.put("step tokenizer vqgan-f16 224px b2", () -> tokenizer(dev, VQModel.Config.vqganF16(), perceptualBase(), 3, 224, 2));
        m.put("step mim vit-b16 224px b8", () -> mim(dev, "beit_base_patch16_224_8k_vocab", 224, 16, 3, 8192, VQModel.Config.vqganF16(), 8));
        m.put("step finetune vit-b16 224px b8", () -> finetune(dev, "beit_base_patch16_224_8k_vocab", 224, 16, 3, 1000, 8));
        return m;
    }

    /** train-perceptual's defaults (28 px, patch 7, width 96, depth 4, heads 4, MLP ratio 2, dim 128, MLP dim 512, T 0.2). */
    static PerceptualConfig perceptualTiny() {
        return perceptual(28, 7, 96, 4, 4, 2, 128, 512);
    }

    /** MoCo v3's ViT-B/16 (dim 256, MLP dim 4096). */
    static PerceptualConfig perceptualBase() {
        return perceptual(224, 16, 768, 12, 12, 4, 256, 4096);
    }

    private static PerceptualConfig perceptual(int img, int patch, int width, int depth, int heads, double mlpRatio, int dim, int mlpDim) {
        // data, seed, epochs, batch, base lr, warm-up epochs, weight decay, then the model, temperature, momentum, stop-grad conv1, crop min, run options
        return new PerceptualConfig("subset", 0, 1, 128, 3e-3, 0.5, 0.1, img, patch, width, depth, heads, mlpRatio, dim, mlpDim, 0.2, 0.99, false, 0.2,
                0, 0, 0, 0);
    }

    private static Tensor images(long seed, int batch, int channels, int size) {
        return Tensor.rand(new Generator(seed), batch, channels, size, size);
    }

    /** MoCo v3: the symmetric contrastive loss of two views, momentum 0.99, AdamW over the trained parameters. */
    static Step moco(Device dev, PerceptualConfig c, int channels, int batch) {
        MocoV3 moco = MocoTrainer.model(c, channels);
        moco.to(dev);
        AdamW opt = new AdamW(List.of(new ParamGroup("all", moco.trainable(), c.lr(), c.weightDecay())), AdamW.Config.DEFAULT);
        Tensor x1 = images(1, batch, channels, c.imgSize()).to(dev), x2 = images(2, batch, channels, c.imgSize()).to(dev);
        moco.train(true);
        long params = moco.trainable().stream().mapToLong(Tensor::numel).sum();
        return new Step(() -> {
            moco.forward(x1, x2, c.momentum()).backward();
            opt.step();
            opt.zeroGrad();
            dev.synchronize();
        }, batch, params);
    }

    /** The tokenizer: VQGAN with the MoCo ViT's perceptual loss (4 blocks, unit norm) and the discriminator on from step 0. */
    static Step tokenizer(Device dev, VQModel.Config mc, PerceptualConfig perceptual, int channels, int size, int batch) {
        VQModel model = new VQModel(new Generator(3), mc.withChannels(channels));
        model.to(dev);
        VisionTransformer vit = MocoTrainer.model(perceptual, channels).baseEncoder;
        vit.to(dev);
        int depth = vit.config.depth();
        PerceptualLoss loss = new PerceptualLoss(FeatureNet.vit(vit, FeatureNet.evenlySpaced(depth, Math.min(4, depth)), new double[channels],
                ones(channels)), PerceptualLoss.Norm.UNIT, null);
        // train-tokenizer's defaults: l1 pixels, perceptual weight 1, VQ weight 1 (paper form, β 0.25), hinge GAN at weight 0.8 from step 0 (--disc-start 0; the CLI default -1 leaves it off)
        TokenizerConfig cfg = new TokenizerConfig("subset", 0, 1, batch, 1e-3, "small", 0, 0, 0, false, 0, 10, 100, "paper", 0.25, "l1", "moco:random", 1.0,
                "unit", 1.0, 0.8, 0, "hinge", 0, 0, 0);
        TokenizerTrainer.Optimizers opts = TokenizerTrainer.Optimizers.of(model, cfg.lr());
        Tensor x = images(4, batch, channels, size).to(dev);
        model.train(true);
        long[] step = {0};
        return new Step(() -> {
            TokenizerTrainer.forward(model, loss, cfg, x, step[0]++).loss().backward();
            opts.step(true);
            dev.synchronize();
        }, batch, model.parameterCount());
    }

    private static double[] ones(int n) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }

    /** MIM: BEiT's block masks, the frozen tokenizer's codes as targets, cross-entropy, clip 3.0, AdamW with the weight-decay groups. */
    static Step mim(Device dev, String model, int img, int patch, int channels, int vocab, VQModel.Config tokenizer, int batch) {
        MaskedImageModel mim = new MaskedImageModel(new Generator(5), PretrainConfig.modelConfig(model, img, patch, channels, vocab, 0.1, 0.1, false));
        mim.to(dev);
        VQModel tok = new VQModel(new Generator(6), tokenizer.withChannels(channels));
        tok.to(dev);
        tok.freeze();
        tok.eval();
        int grid = mim.config.gridSize();
        MaskingGenerator masking = new MaskingGenerator(MaskingGenerator.Config.beit(grid, grid));
        AdamW opt = new AdamW(mim.weightDecayGroups(1.5e-3, 0.05), AdamW.Config.DEFAULT);
        Tensor x = images(7, batch, channels, img).to(dev), view = images(8, batch, channels, grid * tok.config.factor()).to(dev);
        Tensor mask = MimTrainer.masks(masking, 0, MaskingGenerator.MASK, 0, java.util.stream.IntStream.range(0, batch).toArray()).to(dev);
        mim.train(true);
        return new Step(() -> {
            MimTrainer.step(mim, tok, x, view, mask).loss().backward();
            GradClip.clipGradNorm(mim.parameters(), 3.0);
            opt.step();
            opt.zeroGrad();
            dev.synchronize();
        }, batch, mim.parameterCount());
    }

    /** Fine-tuning: mixup/CutMix (0.8/1.0, smoothing 0.1), soft-target cross-entropy, layer-decay AdamW, the model's recipe. */
    static Step finetune(Device dev, String model, int img, int patch, int channels, int classes, int batch) {
        FinetuneConfig.Recipe r = FinetuneConfig.recipe(model);
        VisionTransformer vit = new VisionTransformer(new Generator(9), FinetuneConfig.modelConfig(model, img, patch, channels, classes, false,
                r.dropPath(), 0.1));
        vit.to(dev);
        AdamW opt = new AdamW(LayerDecay.groups(vit, r.baseLr() * batch / 256, 0.05, r.layerDecay(), true), AdamW.Config.DEFAULT);
        Mixup mixup = new Mixup(0.8, 1.0, 1.0, 0.5, 0.1, classes);
        Tensor x = images(10, batch, channels, img), labels = Tensor.randint(new Generator(11), 0, classes, batch);
        vit.train(true);
        long[] step = {0};
        return new Step(() -> {
            Mixup.Result m = mixup.apply(x, labels, new Generator(step[0]++));
            Losses.softTargetCrossEntropy(vit.forward(m.images().to(dev)), m.targets().to(dev)).backward();
            opt.step();
            opt.zeroGrad();
            dev.synchronize();
        }, batch, vit.parameterCount());
    }
}
