package dev.peco4j.peco.perceptual;

import dev.peco4j.peco.train.ConfigFields;
import java.util.Map;

/**
 * Everything that decides a MoCo v3 run's result (stored in every checkpoint). The learning rate is
 * MoCo v3's rule: lr = baseLr × batch / 256.
 *
 * @param cropMin       the smallest area fraction of the random resized crop (MoCo v3: 0.08; 0.2 by
 *                      default here, as a 3-pixel crop of a 28-pixel image holds little)
 * @param knnTrain      training images in the k-NN bank of the per-epoch evaluation (0 = all)
 * @param probeEpochs   epochs of the final linear probes (0 = no final probes)
 */
public record PerceptualConfig(String data, long seed, int epochs, int batchSize, double baseLr, double warmupEpochs, double weightDecay,
                               int imgSize, int patchSize, int width, int depth, int heads, double mlpRatio, int dim, int mlpDim, double temperature, double momentum,
                               boolean stopGradConv1, double cropMin, int saveEvery, int limitTrain, int knnTrain, int probeEpochs) {
    public PerceptualConfig {
        if (epochs < 1 || batchSize < 2) throw new IllegalArgumentException("train-perceptual: need --epochs >= 1 and --batch-size >= 2 (a contrastive batch)");
        if (!(baseLr > 0) || !(warmupEpochs >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("train-perceptual: need --base-lr > 0, --warmup-epochs >= 0, --weight-decay >= 0");
        }
        if (imgSize < 1 || patchSize < 1 || imgSize % patchSize != 0) {
            throw new IllegalArgumentException("train-perceptual: --img-size " + imgSize + " is not a multiple of --patch-size " + patchSize);
        }
        if (width < 4 || width % 4 != 0 || depth < 1 || heads < 1 || width % heads != 0) {
            throw new IllegalArgumentException("train-perceptual: --width " + width + " must be a multiple of 4 (sin-cos positions) and of --heads " + heads);
        }
        if (!(mlpRatio > 0) || dim < 1 || mlpDim < 1 || !(temperature > 0) || !(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("train-perceptual: need --mlp-ratio > 0, --dim, --mlp-dim >= 1, --temperature > 0, --momentum in [0, 1]");
        }
        if (!(cropMin > 0 && cropMin <= 1) || saveEvery < 0 || limitTrain < 0 || knnTrain < 0 || probeEpochs < 0) {
            throw new IllegalArgumentException("train-perceptual: need --crop-min in (0, 1] and --save-every, --limit-train, --knn-train, --probe-epochs >= 0");
        }
    }

    private static final String WHAT = "perceptual config";

    public double lr() {
        return baseLr * batchSize / 256;
    }

    /** The config as stored in config.json and checkpoints (snake_case keys, in component order). */
    public Map<String, Object> toMap() {
        return ConfigFields.toMap(this);
    }

    /** The config from its {@link #toMap} form; a missing or mistyped field is an error naming it. */
    public static PerceptualConfig fromMap(Map<String, Object> m) {
        return ConfigFields.fromMap(PerceptualConfig.class, m, WHAT);
    }

    /** The fields a resumed run may change: how long it runs, how often it saves. */
    public static final java.util.Set<String> MAY_CHANGE_ON_RESUME = java.util.Set.of("epochs", "save_every");
}
