package dev.peco4j.peco.finetune;

import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.pretrain.MaskedImageModel;
import dev.peco4j.peco.train.ConfigFields;
import java.util.Map;
import java.util.Set;

/**
 * Everything that decides a fine-tuning run's result (stored in every checkpoint): BEiT's fine-tuning
 * recipe (peco-spec §4) with its options.
 *
 * @param init          a pretrain checkpoint to start from ("" = from scratch, the same recipe); its
 *                      model, image and patch size then replace these fields; {@code initSha256} its digest
 * @param baseLr        lr = baseLr × batch / 256 (BEiT ViT-B: 4e-3 at batch 1024, i.e. 1e-3 per 256; see {@link #recipe})
 * @param layerDecay    layer-wise lr decay ρ ({@link LayerDecay}; BEiT: 0.65 for ViT-B, 0.75 for ViT-L; see {@link #recipe})
 * @param mixup         mixup α, {@code cutmix} CutMix α, {@code mixupProb} and {@code mixupSwitchProb} as timm's Mixup (BEiT: 0.8, 1.0, 1.0, 0.5)
 * @param aa            RandAugment as timm's string (BEiT: rand-m9-mstd0.5-inc1; "none")
 * @param reprob        random erasing probability (BEiT: 0.25)
 * @param modelEma      decay of an EMA of the weights, evaluated beside the model (0 = off; timm: 0.9999)
 * @param headInitScale the head's trunc_normal(0.02) init times this (BEiT: 0.001)
 * @param labelFraction the share of each class's training labels used (1: all; 0.01 and 0.1: the label-scarce settings)
 * @param steps         the run's length in steps when > 0 (overrides epochs; 0 = epochs)
 * @param warmupSteps   the warm-up in steps when > 0 (overrides warmupEpochs, as BEiT's --warmup_steps; else warmupEpochs)
 * @param evalEvery     evaluate after every n-th epoch and after the last step (0 = only after the last step)
 */
public record FinetuneConfig(String data, long seed, int epochs, int batchSize, double baseLr, double minLr, double warmupEpochs, double weightDecay,
                             double layerDecay, double dropPath, double clipGrad, double labelSmoothing, double mixup, double cutmix, double mixupProb,
                             double mixupSwitchProb, String aa, double reprob, double modelEma, double headInitScale, boolean decayRelPos, String init,
                             String initSha256, String model, int imgSize, int patchSize, double layerScale, double labelFraction, int saveEvery, int limitTrain,
                             long steps, long warmupSteps, int evalEvery) {
    public FinetuneConfig {
        String what = "finetune: ";
        if (epochs < 1 || batchSize < 1) throw new IllegalArgumentException(what + "need --epochs >= 1 and --batch-size >= 1");
        if (!(baseLr > 0) || !(minLr >= 0) || !(warmupEpochs >= 0) || !(weightDecay >= 0) || !(clipGrad >= 0)) {
            throw new IllegalArgumentException(what + "need --base-lr > 0 and --min-lr, --warmup-epochs, --weight-decay, --clip-grad >= 0");
        }
        if (steps < 0 || warmupSteps < -1 || evalEvery < 0) throw new IllegalArgumentException(what + "need --steps >= 0, --warmup-steps >= -1, --eval-every >= 0");
        if (steps == 0 && warmupSteps <= 0 && warmupEpochs > epochs) throw new IllegalArgumentException(what + "--warmup-epochs " + warmupEpochs + " is longer than the run's --epochs " + epochs);
        if (!(layerDecay > 0 && layerDecay <= 1)) throw new IllegalArgumentException(what + "--layer-decay must be in (0, 1], got " + layerDecay);
        if (!(dropPath >= 0 && dropPath < 1) || !(labelSmoothing >= 0 && labelSmoothing < 1) || !(reprob >= 0 && reprob <= 1)
                || !(modelEma >= 0 && modelEma < 1) || !(headInitScale > 0) || !(layerScale >= 0)) {
            throw new IllegalArgumentException(what + "need --drop-path, --smoothing in [0, 1), --reprob in [0, 1], --model-ema in [0, 1), --head-init-scale > 0");
        }
        new Mixup(mixup, cutmix, mixupProb, mixupSwitchProb, labelSmoothing, 1);  // checks the mixing options
        dev.peco4j.peco.data.RandAugment.parse(aa, 0);                            // and the RandAugment string
        if (!model.equals("tiny") && !model.equals("small") && !MaskedImageModel.Config.PRESETS.contains(model)) {
            throw new IllegalArgumentException(what + "--model must be tiny, small or one of " + MaskedImageModel.Config.PRESETS + ", got '" + model + "'");
        }
        if (!(labelFraction > 0 && labelFraction <= 1)) throw new IllegalArgumentException(what + "--label-fraction must be in (0, 1], got " + labelFraction);
        if (saveEvery < 0 || limitTrain < 0) throw new IllegalArgumentException(what + "need --save-every, --limit-train >= 0");
    }

    /** The values of a model's fine-tuning recipe that depend on its size: base lr per 256 images, layer decay, drop path. */
    public record Recipe(double baseLr, double layerDecay, double dropPath) {}

    /**
     * The recipe a model gets where an option is not given (the model is --init's when there is one).
     * BEiT's self-supervised fine-tuning commands (peco-spec §4.3): ViT-B 4e-3 at batch 1024 (1e-3 per
     * 256), ρ 0.65, drop path 0.1; ViT-L 1e-3 at 1024 (2.5e-4 per 256), ρ 0.75, drop path 0.2. BEiT
     * publishes none for ViT-S (given ViT-B's) or ViT-H (given ViT-L's). tiny and small: 4e-3, ρ 0.75,
     * drop path 0.1, measured on the embedded subset (10 epochs from a demo MIM checkpoint: 39.9%
     * against 33.3% at 1e-3; from scratch 31.5% against 26.7%).
     */
    public static Recipe recipe(String model) {
        return switch (model) {
            case "beit_small_patch16_224_8k_vocab", "beit_base_patch16_224_8k_vocab" -> new Recipe(1e-3, 0.65, 0.1);
            case "beit_large_patch16_224_8k_vocab", "beit_huge_patch14_224_8k_vocab" -> new Recipe(2.5e-4, 0.75, 0.2);
            default -> new Recipe(4e-3, 0.75, 0.1);
        };
    }

    public double lr() {
        return baseLr * batchSize / 256;
    }

    /**
     * The classifier: the MIM architecture of this model, image and patch size (its width, depth, heads,
     * MLP ratio), as BEiT fine-tunes it: a relative position table per block, mean pooling with
     * fc_norm, this run's drop path and LayerScale init, a head of the given classes.
     */
    public VisionTransformer.Config modelConfig(int channels, int classes, boolean absPosEmbed) {
        return modelConfig(model, imgSize, patchSize, channels, classes, absPosEmbed, dropPath, layerScale);
    }

    /** The same for a model name (a MIM preset or tiny/small/base), image and patch size (a preset has its own patch). */
    public static VisionTransformer.Config modelConfig(String model, int imgSize, int patchSize, int channels, int classes, boolean absPosEmbed,
                                                       double dropPath, double layerScale) {
        boolean preset = MaskedImageModel.Config.PRESETS.contains(model);
        int patch = preset ? MaskedImageModel.Config.preset(model).vit().patchSize() : patchSize;
        if (imgSize % patch != 0) throw new IllegalArgumentException("finetune: --img-size " + imgSize + " is not a multiple of the patch size " + patch);
        VisionTransformer.Config v = preset ? MaskedImageModel.Config.preset(model).vit() : MaskedImageModel.Config.small(model, imgSize, patch, channels, 1).vit();
        return VisionTransformer.Config.of(imgSize, patch, v.embedDim(), v.depth(), v.heads()).withInChans(channels).withMlpRatio(v.mlpRatio())
                .withNumClasses(classes).withDropPath(dropPath).withLayerScaleInit(layerScale).withRelPos(VisionTransformer.RelPos.PER_BLOCK)
                .withPosEmbed(absPosEmbed ? VisionTransformer.PosEmbed.LEARNED : VisionTransformer.PosEmbed.NONE).withPool(VisionTransformer.Pool.AVG);
    }

    /** This config with the pre-trained model's architecture and the checkpoint's digest. */
    public FinetuneConfig withInit(String sha, String model, int imgSize, int patchSize, double layerScale) {
        return new FinetuneConfig(data, seed, epochs, batchSize, baseLr, minLr, warmupEpochs, weightDecay, layerDecay, dropPath, clipGrad, labelSmoothing, mixup,
                cutmix, mixupProb, mixupSwitchProb, aa, reprob, modelEma, headInitScale, decayRelPos, init, sha, model, imgSize, patchSize, layerScale, labelFraction, saveEvery,
                limitTrain, steps, warmupSteps, evalEvery);
    }

    public Map<String, Object> toMap() {
        return ConfigFields.toMap(this);
    }

    public static FinetuneConfig fromMap(Map<String, Object> m) {
        return ConfigFields.fromMap(FinetuneConfig.class, m, "finetune config");
    }

    /** The fields a resumed run may change: how long it runs, how often it saves, where the init checkpoint lies. */
    public static final Set<String> MAY_CHANGE_ON_RESUME = Set.of("epochs", "steps", "eval_every", "save_every", "init");
}
