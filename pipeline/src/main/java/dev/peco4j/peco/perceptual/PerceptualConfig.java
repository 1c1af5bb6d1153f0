package dev.peco4j.peco.perceptual;

import dev.peco4j.peco.train.ConfigFields;
import java.util.LinkedHashMap;
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

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("data", data);
        m.put("seed", seed);
        m.put("epochs", epochs);
        m.put("batch_size", batchSize);
        m.put("base_lr", baseLr);
        m.put("warmup_epochs", warmupEpochs);
        m.put("weight_decay", weightDecay);
        m.put("img_size", imgSize);
        m.put("patch_size", patchSize);
        m.put("width", width);
        m.put("depth", depth);
        m.put("heads", heads);
        m.put("mlp_ratio", mlpRatio);
        m.put("dim", dim);
        m.put("mlp_dim", mlpDim);
        m.put("temperature", temperature);
        m.put("momentum", momentum);
        m.put("stop_grad_conv1", stopGradConv1);
        m.put("crop_min", cropMin);
        m.put("save_every", saveEvery);
        m.put("limit_train", limitTrain);
        m.put("knn_train", knnTrain);
        m.put("probe_epochs", probeEpochs);
        return m;
    }

    public static PerceptualConfig fromMap(Map<String, Object> m) {
        return new PerceptualConfig(ConfigFields.string(m, "data", WHAT), ConfigFields.number(m, "seed", WHAT).longValue(), ConfigFields.integer(m, "epochs", WHAT), ConfigFields.integer(m, "batch_size", WHAT),
                ConfigFields.number(m, "base_lr", WHAT).doubleValue(), ConfigFields.number(m, "warmup_epochs", WHAT).doubleValue(), ConfigFields.number(m, "weight_decay", WHAT).doubleValue(),
                ConfigFields.integer(m, "img_size", WHAT), ConfigFields.integer(m, "patch_size", WHAT), ConfigFields.integer(m, "width", WHAT),
                ConfigFields.integer(m, "depth", WHAT), ConfigFields.integer(m, "heads", WHAT), ConfigFields.number(m, "mlp_ratio", WHAT).doubleValue(), ConfigFields.integer(m, "dim", WHAT), ConfigFields.integer(m, "mlp_dim", WHAT),
                ConfigFields.number(m, "temperature", WHAT).doubleValue(), ConfigFields.number(m, "momentum", WHAT).doubleValue(), ConfigFields.bool(m, "stop_grad_conv1", WHAT), ConfigFields.number(m, "crop_min", WHAT).doubleValue(),
                ConfigFields.integer(m, "save_every", WHAT), ConfigFields.integer(m, "limit_train", WHAT), ConfigFields.integer(m, "knn_train", WHAT), ConfigFields.integer(m, "probe_epochs", WHAT));
    }

    /** The fields a resumed run may change: how long it runs, how often it saves. */
    public static final java.util.Set<String> MAY_CHANGE_ON_RESUME = java.util.Set.of("epochs", "save_every");
}
