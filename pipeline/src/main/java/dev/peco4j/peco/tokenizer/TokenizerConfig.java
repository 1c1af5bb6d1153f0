package dev.peco4j.peco.tokenizer;

import dev.peco4j.peco.train.ConfigFields;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything that decides a tokenizer run's result (stored in every checkpoint).
 *
 * <p>The loss of the autoencoder step, as taming's VQLPIPSWithDiscriminator with PeCo's perceptual
 * network in place of LPIPS:
 * <pre>
 *   L = pixel(x, x̂) + perceptual_weight · perceptual(x, x̂) + codebook_weight · vq_loss
 *       + adaptive weight · disc_weight · [step ≥ disc_start] · (−mean D(x̂))
 * </pre>
 *
 * @param preset          "small" (f 4, 256 codes: {@link VQModel.Config#small}) or "vqgan-f16"
 * @param imgSize         images are resized to imgSize² (bilinear; 0 keeps the data's size)
 * @param codes           codebook size K (0: the preset's)
 * @param lookupDim       codebook lookup width (0: the code width; see {@link VectorQuantizer.Options})
 * @param lossForm        "paper" (β on commitment) or "legacy" (taming's released models)
 * @param pixelLoss       "l1" (taming) or "l2" (the VQ-VAE paper)
 * @param perceptual      "none", "moco:&lt;train-perceptual checkpoint&gt;", "mobilenetv2" or "vit:&lt;safetensors&gt;" (a
 *                        MoCo-v3-style ViT with timm's names, e.g. from scripts/convert-moco-v3.py)
 * @param perceptualNorm  per-layer normalization of the features: "none", "unit" (LPIPS), "layer_norm"
 * @param discStart       first step of the adversarial loss; −1 never (peco-spec §8.2: skipped on CPU by default)
 * @param discLoss        "hinge" (taming's default) or "vanilla" (softplus)
 * @param evalImages      test images of each epoch's evaluation (0 = all)
 */
public record TokenizerConfig(String data, long seed, int epochs, int batchSize, double lr, String preset, int imgSize, int codes, int lookupDim,
                              boolean cosine, double emaDecay, int kmeansIters, int deadAfter, String lossForm, double beta, String pixelLoss,
                              String perceptual, double perceptualWeight, String perceptualNorm, double codebookWeight, double discWeight,
                              long discStart, String discLoss, int saveEvery, int limitTrain, int evalImages) {
    static final Set<String> PRESETS = Set.of("small", "vqgan-f16");

    public TokenizerConfig {
        String what = "train-tokenizer: ";
        if (epochs < 1 || batchSize < 1 || !(lr > 0)) throw new IllegalArgumentException(what + "need --epochs >= 1, --batch-size >= 1, --lr > 0");
        if (!PRESETS.contains(preset)) throw new IllegalArgumentException(what + "--preset must be one of " + PRESETS + ", got '" + preset + "'");
        if (imgSize < 0) throw new IllegalArgumentException(what + "need --img-size >= 0");
        if (codes < 0 || lookupDim < 0 || !(emaDecay >= 0 && emaDecay < 1) || kmeansIters < 0 || deadAfter < 0 || !(beta >= 0)) {
            throw new IllegalArgumentException(what + "need --codes, --lookup-dim, --kmeans-iters, --dead-after >= 0, --ema-decay in [0, 1), --beta >= 0");
        }
        oneOf(what + "--loss-form", lossForm, List.of("paper", "legacy"));
        oneOf(what + "--pixel-loss", pixelLoss, List.of("l1", "l2"));
        oneOf(what + "--perceptual-norm", perceptualNorm, List.of("none", "unit", "layer_norm"));
        oneOf(what + "--disc-loss", discLoss, List.of("hinge", "vanilla"));
        if (!perceptual.equals("none") && !perceptual.equals("mobilenetv2") && !(perceptual.startsWith("moco:") && perceptual.length() > 5)
                && !(perceptual.startsWith("vit:") && perceptual.length() > 4)) {
            throw new IllegalArgumentException(what + "--perceptual must be none, mobilenetv2, moco:<checkpoint> or vit:<safetensors>, got '" + perceptual + "'");
        }
        if (!(perceptualWeight >= 0) || !(codebookWeight >= 0) || !(discWeight >= 0) || discStart < -1) {
            throw new IllegalArgumentException(what + "need --perceptual-weight, --codebook-weight, --disc-weight >= 0 and --disc-start >= -1");
        }
        if (saveEvery < 0 || limitTrain < 0 || evalImages < 0) {
            throw new IllegalArgumentException(what + "need --save-every, --limit-train, --eval-images >= 0");
        }
    }

    private static void oneOf(String what, String v, List<String> allowed) {
        if (!allowed.contains(v)) throw new IllegalArgumentException(what + " must be one of " + allowed + ", got '" + v + "'");
    }

    /** The model of this run for images of the given channel count. */
    public VQModel.Config model(int channels) {
        VQModel.Config c = preset.equals("small") ? VQModel.Config.small(channels) : VQModel.Config.vqganF16().withChannels(channels);
        if (codes > 0) c = c.withCodes(codes);
        return c.withLossForm(lossForm.equals("legacy") ? VectorQuantizer.LossForm.LEGACY : VectorQuantizer.LossForm.PAPER).withBeta(beta).withQuantizer(quantizerOptions());
    }

    public VectorQuantizer.Options quantizerOptions() {
        return new VectorQuantizer.Options(lookupDim, cosine, emaDecay, 1e-5, kmeansIters, deadAfter);
    }

    public boolean gan() {
        return discStart >= 0 && discWeight > 0;
    }

    public Map<String, Object> toMap() {
        return ConfigFields.toMap(this);
    }

    public static TokenizerConfig fromMap(Map<String, Object> m) {
        return ConfigFields.fromMap(TokenizerConfig.class, m, "tokenizer config");
    }

    /** The fields a resumed run may change: how long it runs, how often it saves. */
    public static final Set<String> MAY_CHANGE_ON_RESUME = Set.of("epochs", "save_every");
}
