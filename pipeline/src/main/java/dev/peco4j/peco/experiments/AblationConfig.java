package dev.peco4j.peco.experiments;

import dev.peco4j.peco.pretrain.MaskedImageModel;
import dev.peco4j.peco.train.ConfigFields;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What decides an ablation's results (stored in ablation.json; a folder written by another config is refused).
 *
 * @param tokenizers comma-separated tokenizer cells, e.g. "tok-none,tok-moco,tok-mobilenetv2" (recorded, so that installing the
 *                  MobileNetV2 weights later cannot change a table silently)
 * @param tokenizerImages the first N training images for each tokenizer (0 = all)
 * @param pretrainSteps  MIM steps of every pre-trained cell (the same budget for every target)
 * @param finetuneSteps  fine-tuning steps of every run, whatever its label fraction (a small fraction
 *                       repeats its images more often); the warm-up is a fifth of them (BEiT ViT-B: 20 of 100 epochs)
 * @param probeImages    the first N training images the probes fit on (0 = all); they test on the whole test set
 * @param fractions comma-separated label fractions to fine-tune on, e.g. "1,0.1,0.01"
 * @param limitTrain the first N training images for every stage (0 = all; a toy run's knob)
 * @param model      the ViT pre-trained and fine-tuned (tiny, small or a BEiT preset)
 * @param imgSize    the input size of every network (MoCo v3's ViT with patches of imgSize / 4, the
 *                   tokenizers, the MIM ViT with patches of patchSize); images are resized to it
 */
public record AblationConfig(String data, String tokenizers, int seeds, int perceptualEpochs, int tokenizerEpochs, int tokenizerImages, long pretrainSteps,
                             long finetuneSteps, int probeEpochs, int probeImages, String fractions, int limitTrain, String model, int imgSize,
                             int patchSize) {
    public AblationConfig {
        if (seeds < 1 || perceptualEpochs < 1 || tokenizerEpochs < 1 || pretrainSteps < 1 || finetuneSteps < 1 || probeEpochs < 1) {
            throw new IllegalArgumentException("ablation: need --seeds, --perceptual-epochs, --tokenizer-epochs, --pretrain-steps, --finetune-steps, --probe-epochs >= 1");
        }
        if (tokenizerImages < 0 || probeImages < 0 || limitTrain < 0) throw new IllegalArgumentException("ablation: need --tokenizer-images, --probe-images, --limit-train >= 0");
        parse(fractions);
        if (imgSize < 4 || imgSize % 4 != 0) throw new IllegalArgumentException("ablation: --img-size must be a multiple of 4 (MoCo v3's 4x4 patches), got " + imgSize);
        boolean preset = MaskedImageModel.Config.PRESETS.contains(model);
        if (!preset && !model.equals("tiny") && !model.equals("small")) {
            throw new IllegalArgumentException("ablation: --model must be tiny, small or one of " + MaskedImageModel.Config.PRESETS + ", got '" + model + "'");
        }
        int patch = preset ? MaskedImageModel.Config.preset(model).vit().patchSize() : patchSize;
        if (patch < 1 || imgSize % patch != 0) {
            throw new IllegalArgumentException("ablation: --img-size " + imgSize + " is not a multiple of the ViT's patch size " + patch + (preset ? " (" + model + ")" : ""));
        }
        for (String t : tokenizers.split(",")) {
            if (!List.of("tok-none", "tok-moco", "tok-mobilenetv2").contains(t)) {
                throw new IllegalArgumentException("ablation: tokenizer cell '" + t + "' is not one of tok-none, tok-moco, tok-mobilenetv2");
            }
        }
        if (!tokenizers.startsWith("tok-none")) throw new IllegalArgumentException("ablation: the cells need the baseline tok-none first, got " + tokenizers);
    }

    private static List<Double> parse(String fractions) {
        List<Double> out = new ArrayList<>();
        for (String f : fractions.split(",")) {
            double v;
            try {
                v = Double.parseDouble(f.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("ablation: --fractions '" + fractions + "': '" + f + "' is not a number", e);
            }
            if (!(v > 0 && v <= 1)) throw new IllegalArgumentException("ablation: --fractions '" + fractions + "': " + v + " is not in (0, 1]");
            out.add(v);
        }
        if (!out.contains(1.0)) throw new IllegalArgumentException("ablation: --fractions '" + fractions + "' must include 1 (all labels)");
        return out;
    }

    /** The training images of a stage limited to n (0 = no limit of its own), within --limit-train. */
    public int limit(int n) {
        return n == 0 ? limitTrain : limitTrain == 0 ? n : Math.min(n, limitTrain);
    }

    public List<Double> fractionList() {
        return parse(fractions);
    }

    /**
     * Read from ablation.json; the fields added with --img-size take the values every earlier ablation
     * ran with; one that still gave the MIM and fine-tuning budgets in epochs is refused by name.
     */
    public static AblationConfig fromMap(Map<String, Object> m) {
        if (m.containsKey("pretrain_epochs") || m.containsKey("finetune_epochs")) {
            throw new IllegalArgumentException("ablation config: written by an older version, whose MIM and fine-tuning budgets were epochs "
                    + "(pretrain_epochs, finetune_epochs; now --pretrain-steps, --finetune-steps); it cannot be continued, choose another --out");
        }
        Map<String, Object> all = new java.util.LinkedHashMap<>(m);
        Map.<String, Object>of("model", "tiny", "img_size", 28, "patch_size", 4).forEach(all::putIfAbsent);
        return ConfigFields.fromMap(AblationConfig.class, all, "ablation config");
    }

    public Map<String, Object> toMap() {
        return ConfigFields.toMap(this);
    }
}
