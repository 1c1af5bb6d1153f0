package dev.peco4j.peco.pretrain;

import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.train.ConfigFields;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything that decides a masked-image-modeling run's result (stored in every checkpoint).
 *
 * @param baseLr        AdamW lr = baseLr × batch / 256 (BEiT: 1.5e-3 for batches of 2048, i.e. 1.875e-4 per 256; see {@link #defaultBaseLr})
 * @param minLr         the end of the cosine (BEiT: 1e-5)
 * @param model         "tiny" or "small" (patch {@code patchSize} on {@code imgSize}; {@link MaskedImageModel.Config#small}),
 *                      or a BEiT preset name ({@link MaskedImageModel.Config#PRESETS}: its patch, {@code imgSize} as given)
 * @param target        "tokens" (the codes of {@code tokenizer}) or "pixels" (per-patch normalized pixels, MAE's norm_pix_loss)
 * @param tokenizer     a train-tokenizer checkpoint or a converted taming VQGAN (targets "tokens"); its sha256 is {@code tokenizerSha256}
 * @param tokenizerSize the tokenizer's view size (0: grid × the tokenizer's downsampling factor, so its code grid is the patch grid)
 * @param tokenizerGroups GroupNorm groups of a converted taming VQGAN (taming: 32; a train-tokenizer checkpoint records its own)
 * @param maskPatches   patches masked per image (0: BEiT's 75 of 196 scaled to the grid); min/maxMaskPatches bound
 *                      one block (0: BEiT's 16 of 196 scaled; 0: maskPatches)
 * @param cropMin       the smallest area fraction of the random resized crop (BEiT: 0.08; the command's default 0.4)
 * @param colorJitter   brightness, contrast and saturation jitter before the crop (0: none)
 * @param evalImages    test images of each epoch's evaluation (0 = all)
 */
public record PretrainConfig(String data, long seed, int epochs, int batchSize, double baseLr, double minLr, double warmupEpochs, double weightDecay,
                             double clipGrad, double dropPath, double layerScale, String model, int imgSize, int patchSize, boolean absPosEmbed,
                             String target, String tokenizer, String tokenizerSha256, int tokenizerSize, int tokenizerGroups, int maskPatches, int minMaskPatches,
                             int maxMaskPatches, double minAspect, double cropMin, double colorJitter, int saveEvery, int limitTrain, int evalImages,
                             long steps, long warmupSteps) {
    static final List<String> TARGETS = List.of("tokens", "pixels");

    public PretrainConfig {
        String what = "pretrain: ";
        if (epochs < 1 || batchSize < 1) throw new IllegalArgumentException(what + "need --epochs >= 1 and --batch-size >= 1");
        if (!(baseLr > 0) || !(minLr >= 0) || !(warmupEpochs >= 0) || !(weightDecay >= 0) || !(clipGrad >= 0)) {
            throw new IllegalArgumentException(what + "need --base-lr > 0 and --min-lr, --warmup-epochs, --weight-decay, --clip-grad >= 0");
        }
        if (steps < 0 || warmupSteps < -1) throw new IllegalArgumentException(what + "need --steps >= 0 and --warmup-steps >= -1");
        if (steps == 0 && warmupSteps <= 0 && warmupEpochs > epochs) throw new IllegalArgumentException(what + "--warmup-epochs " + warmupEpochs + " is longer than the run's --epochs " + epochs);
        if (!(dropPath >= 0 && dropPath < 1) || !(layerScale >= 0)) throw new IllegalArgumentException(what + "need --drop-path in [0, 1), --layer-scale >= 0");
        if (!model.equals("tiny") && !model.equals("small") && !MaskedImageModel.Config.PRESETS.contains(model)) {
            throw new IllegalArgumentException(what + "--model must be tiny, small or one of " + MaskedImageModel.Config.PRESETS + ", got '" + model + "'");
        }
        if (imgSize < 1 || patchSize < 1) throw new IllegalArgumentException(what + "need --img-size and --patch-size >= 1");
        if (!TARGETS.contains(target)) throw new IllegalArgumentException(what + "--target must be one of " + TARGETS + ", got '" + target + "'");
        if (target.equals("tokens") && tokenizer.isEmpty()) throw new IllegalArgumentException(what + "--target tokens needs --tokenizer <train-tokenizer checkpoint>");
        if (target.equals("pixels") && !tokenizer.isEmpty()) throw new IllegalArgumentException(what + "--target pixels takes no --tokenizer");
        if (tokenizerGroups < 1) throw new IllegalArgumentException(what + "need --tokenizer-groups >= 1");
        if (tokenizerSize < 0 || maskPatches < 0 || minMaskPatches < 0 || maxMaskPatches < 0 || !(minAspect > 0 && minAspect <= 1)) {
            throw new IllegalArgumentException(what + "need --tokenizer-size, --mask-patches, --min-mask-patches, --max-mask-patches >= 0 and --min-aspect in (0, 1]");
        }
        if (!(cropMin > 0 && cropMin <= 1) || !(colorJitter >= 0) || saveEvery < 0 || limitTrain < 0 || evalImages < 0) {
            throw new IllegalArgumentException(what + "need --crop-min in (0, 1], --color-jitter >= 0 and --save-every, --limit-train, --eval-images >= 0");
        }
    }

    /**
     * The base lr a model gets unless one is given: BEiT's 1.875e-4 per 256 images (1.5e-3 per 2048) for
     * the BEiT presets; 6e-3 for tiny and small, measured on Fashion-MNIST (README: at BEiT's rate the
     * tiny model's test loss stayed at the codes' marginal entropy for 200 steps).
     */
    public static double defaultBaseLr(String model) {
        return MaskedImageModel.Config.PRESETS.contains(model) ? 1.5e-3 * 256 / 2048 : 6e-3;
    }

    public double lr() {
        return baseLr * batchSize / 256;
    }

    /** The patch size of the model: a preset's own, else patchSize. */
    public int modelPatchSize() {
        return patchSize(model, patchSize);
    }

    private static int patchSize(String model, int patchSize) {
        return MaskedImageModel.Config.PRESETS.contains(model) ? MaskedImageModel.Config.preset(model).vit().patchSize() : patchSize;
    }

    /** The MIM model for images of this many channels and a head of vocab outputs (a preset's width, depth and heads; the rest from this config). */
    public MaskedImageModel.Config modelConfig(int channels, int vocab) {
        return modelConfig(model, imgSize, patchSize, channels, vocab, dropPath, layerScale, absPosEmbed);
    }

    /** The same for a model name (a preset or tiny/small/base), image and patch size (a preset has its own patch). */
    public static MaskedImageModel.Config modelConfig(String model, int imgSize, int patchSize, int channels, int vocab, double dropPath, double layerScale,
                                                      boolean absPosEmbed) {
        int patch = patchSize(model, patchSize);
        if (imgSize % patch != 0) {
            throw new IllegalArgumentException("pretrain: --img-size " + imgSize + " is not a multiple of the patch size " + patch + " of model " + model);
        }
        VisionTransformer.Config v = MaskedImageModel.Config.PRESETS.contains(model) ? MaskedImageModel.Config.preset(model).vit()
                : MaskedImageModel.Config.small(model, imgSize, patch, channels, vocab).vit();
        v = VisionTransformer.Config.of(imgSize, patch, v.embedDim(), v.depth(), v.heads()).withInChans(channels).withMlpRatio(v.mlpRatio());
        v = MaskedImageModel.Config.pretraining(v, dropPath, layerScale).withPosEmbed(absPosEmbed ? VisionTransformer.PosEmbed.LEARNED : VisionTransformer.PosEmbed.NONE);
        return new MaskedImageModel.Config(v, vocab);
    }

    /** The masking of a grid, BEiT's defaults scaled to it where an option is 0. */
    public MaskingGenerator.Config masking(int grid) {
        MaskingGenerator.Config c = MaskingGenerator.Config.beit(grid, grid);
        int n = grid * grid;
        if (maskPatches > n) {
            throw new IllegalArgumentException("pretrain: --mask-patches " + maskPatches + " is more than the " + grid + "x" + grid + " = " + n
                    + " patches of a " + imgSize + "-px image with patch " + modelPatchSize());
        }
        int count = maskPatches > 0 ? maskPatches : c.numMasking();
        return new MaskingGenerator.Config(grid, grid, count, minMaskPatches > 0 ? minMaskPatches : c.minPerBlock(), maxMaskPatches > 0 ? maxMaskPatches : count,
                minAspect, 1 / minAspect);
    }

    /** This config with the tokenizer's digest filled in. */
    public PretrainConfig withTokenizerSha256(String sha) {
        return new PretrainConfig(data, seed, epochs, batchSize, baseLr, minLr, warmupEpochs, weightDecay, clipGrad, dropPath, layerScale, model, imgSize,
                patchSize, absPosEmbed, target, tokenizer, sha, tokenizerSize, tokenizerGroups, maskPatches, minMaskPatches, maxMaskPatches, minAspect, cropMin, colorJitter,
                saveEvery, limitTrain, evalImages, steps, warmupSteps);
    }

    public Map<String, Object> toMap() {
        return ConfigFields.toMap(this);
    }

    public static PretrainConfig fromMap(Map<String, Object> m) {
        return ConfigFields.fromMap(PretrainConfig.class, m, "pretrain config");
    }

    /** The fields a resumed run may change: how long it runs, how often it saves, where the tokenizer file lies (its sha256 must not change). */
    public static final Set<String> MAY_CHANGE_ON_RESUME = Set.of("epochs", "steps", "save_every", "tokenizer");
}
