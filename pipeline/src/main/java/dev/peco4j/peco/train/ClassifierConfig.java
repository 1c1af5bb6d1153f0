package dev.peco4j.peco.train;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything that decides a classifier run's result, stored in every checkpoint. Threads are not
 * part of it: results are bit-identical for any thread count.
 *
 * @param data          dataset name or path (see DataSources)
 * @param warmupEpochs  linear warm-up of the learning rate from 0, in epochs
 * @param clipGrad      max global gradient norm, 0 = off
 * @param saveEvery     also checkpoint every this many steps (0 = once per epoch only)
 */
public record ClassifierConfig(String data, long seed, int epochs, int batchSize, double lr, double minLr, double warmupEpochs,
                               double weightDecay, double labelSmoothing, double clipGrad, int width, int depth, int heads, double mlpRatio,
                               double dropPath, boolean augment, int saveEvery, int limitTrain) {
    public ClassifierConfig {
        if (epochs < 1 || batchSize < 1) throw new IllegalArgumentException("train-classifier: need --epochs >= 1 and --batch-size >= 1");
        if (!(lr > 0) || !(minLr >= 0) || !(warmupEpochs >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("train-classifier: need --lr > 0, --min-lr >= 0, --warmup-epochs >= 0, --weight-decay >= 0");
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("train-classifier: --label-smoothing must be in [0, 1), got " + labelSmoothing);
        }
        if (!(mlpRatio > 0) || !(dropPath >= 0 && dropPath < 1) || !(clipGrad >= 0) || saveEvery < 0 || limitTrain < 0) {
            throw new IllegalArgumentException("train-classifier: need --mlp-ratio > 0, --drop-path in [0, 1), --clip-grad >= 0, --save-every >= 0, "
                    + "--limit-train >= 0; got " + mlpRatio + ", " + dropPath + ", " + clipGrad + ", " + saveEvery + ", " + limitTrain);
        }
        if (width < 1 || depth < 1 || heads < 1 || width % heads != 0) {
            throw new IllegalArgumentException("train-classifier: --width " + width + " must be divisible by --heads " + heads);
        }
    }

    /**
     * What stops a run saved with this config from continuing as {@code other} ("--lr 0.01 (saved:
     * 0.001)", ...): everything that decides the result must agree, except the number of epochs
     * (extending or shortening a run, as timm allows) and how often checkpoints are written.
     */
    public List<String> resumeConflicts(ClassifierConfig other) {
        return ConfigFields.conflicts(toMap(), other.toMap(), MAY_CHANGE_ON_RESUME);
    }

    private static final String WHAT = "classifier config";

    /** The fields a resumed run may change: how long it runs and how often it saves. */
    public static final Set<String> MAY_CHANGE_ON_RESUME = Set.of("epochs", "save_every");

    /** The config as stored in config.json and checkpoints (snake_case keys, in component order). */
    public Map<String, Object> toMap() {
        return ConfigFields.toMap(this);
    }

    /** The config from its {@link #toMap} form; a missing or mistyped field is an error naming it. */
    public static ClassifierConfig fromMap(Map<String, Object> m) {
        return ConfigFields.fromMap(ClassifierConfig.class, m, WHAT);
    }
}
