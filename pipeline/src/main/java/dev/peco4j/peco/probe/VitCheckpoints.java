package dev.peco4j.peco.probe;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.finetune.FineTuner;
import dev.peco4j.peco.finetune.FinetuneConfig;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.perceptual.MocoTrainer;
import dev.peco4j.peco.pretrain.MaskedImageModel;
import dev.peco4j.peco.pretrain.MimTrainer;
import dev.peco4j.peco.pretrain.PretrainConfig;
import dev.peco4j.peco.train.ClassifierConfig;
import dev.peco4j.peco.train.ClassifierTrainer;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The ViT of any checkpoint this project writes, for probing: pretrain (the MIM backbone), finetune,
 * train-perceptual (MoCo v3's base encoder) and train-classifier. {@code random:<file>} gives the same
 * architecture initialized from a seed: for a pretrain checkpoint exactly the ViT that {@code pretrain
 * --seed} starts from (the baseline "no pre-training" of the probes), else a seeded init. Anything else (a tokenizer, a file that is no checkpoint) is an
 * error naming the file and what it holds.
 */
public final class VitCheckpoints {
    private VitCheckpoints() {}

    /** A ViT and the view of an image it takes (its size, the data's normalization; the classifier's 28 → 32 padding). */
    public record Loaded(String kind, VisionTransformer vit, java.util.function.Function<DataSources.Splits, Transform> view) {}

    public static Loaded load(String spec, long seed) throws IOException {
        boolean random = spec.startsWith("random:");
        Path file = Path.of(random ? spec.substring("random:".length()) : spec);
        Checkpoint c;
        try {
            c = Checkpoint.load(file);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("probe: " + file + " is not a checkpoint of this project: " + e.getMessage(), e);
        }
        Map<String, Object> config = c.configMap();
        VisionTransformer vit;
        String kind;
        if (config.containsKey("pretrain")) {
            PretrainConfig p = MimTrainer.savedConfig(c, file);
            Map<String, Tensor> mim = c.modules().get("mim");
            int vocab = mim.get("lm_head.weight").size(0);
            vit = new MaskedImageModel(random ? MimTrainer.initGenerator(seed) : new Generator(0), p.modelConfig(channels(mim, file), vocab));
            if (!random) strict(vit, mim, file);
            kind = "MIM (" + p.target() + ")";
        } else if (config.containsKey("finetune")) {
            FinetuneConfig f = FineTuner.savedConfig(c, file);
            Map<String, Tensor> m = c.modules().get("model");
            vit = new VisionTransformer(new Generator(seed), f.modelConfig(channels(m, file), m.get("head.weight").size(0), m.containsKey("pos_embed")));
            if (!random) strict(vit, m, file);
            kind = "fine-tuned";
        } else if (config.containsKey("perceptual")) {
            vit = random ? new VisionTransformer(new Generator(seed), MocoTrainer.loadEncoder(file).config) : MocoTrainer.loadEncoder(file);
            kind = "MoCo v3";
        } else if (config.containsKey("classifier")) {
            ClassifierConfig cc = ClassifierTrainer.savedConfig(c, file);
            Map<String, Tensor> m = c.modules().get("model");
            vit = new VisionTransformer(new Generator(seed), ClassifierTrainer.modelConfig(cc, channels(m, file), m.get("head.weight").size(0)));
            if (!random) strict(vit, m, file);
            vit.eval();
            return new Loaded((random ? "random " : "") + "classifier", vit, s -> ClassifierTrainer.transform(s, false, false));
        } else {
            throw new IllegalArgumentException("probe: checkpoint " + file + " holds no ViT (its config has " + config.keySet()
                    + "; expected one written by pretrain, finetune, train-perceptual or train-classifier)");
        }
        vit.eval();
        int size = vit.config.imgSize();
        return new Loaded((random ? "random " : "") + kind, vit, s -> Transform.compose(Transforms.resize(size, size), Transforms.normalize(s.mean(), s.std())));
    }

    private static int channels(Map<String, Tensor> state, Path file) {
        Tensor w = state == null ? null : state.get("patch_embed.proj.weight");
        if (w == null || w.dim() != 4) throw new IllegalArgumentException("probe: checkpoint " + file + " has no patch_embed.proj.weight");
        return w.size(1);
    }

    private static void strict(VisionTransformer vit, Map<String, Tensor> state, Path file) {
        try {
            vit.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("probe: checkpoint " + file + ": " + e.getMessage(), e);
        }
    }
}
