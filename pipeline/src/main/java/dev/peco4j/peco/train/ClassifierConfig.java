package dev.peco4j.peco.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
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
        Map<String, Object> mine = toMap(), theirs = other.toMap();
        List<String> out = new ArrayList<>();
        mine.forEach((k, v) -> {
            if (!MAY_CHANGE_ON_RESUME.contains(k) && !v.equals(theirs.get(k))) out.add("--" + k.replace('_', '-') + " " + theirs.get(k) + " (saved: " + v + ")");
        });
        return out;
    }

    /** The fields a resumed run may change: how long it runs and how often it saves. */
    public static final Set<String> MAY_CHANGE_ON_RESUME = Set.of("epochs", "save_every");

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("data", data);
        m.put("seed", seed);
        m.put("epochs", epochs);
        m.put("batch_size", batchSize);
        m.put("lr", lr);
        m.put("min_lr", minLr);
        m.put("warmup_epochs", warmupEpochs);
        m.put("weight_decay", weightDecay);
        m.put("label_smoothing", labelSmoothing);
        m.put("clip_grad", clipGrad);
        m.put("width", width);
        m.put("depth", depth);
        m.put("heads", heads);
        m.put("mlp_ratio", mlpRatio);
        m.put("drop_path", dropPath);
        m.put("augment", augment);
        m.put("save_every", saveEvery);
        m.put("limit_train", limitTrain);
        return m;
    }

    /** The config from its {@link #toMap} form; a missing or mistyped field is an error naming it. */
    public static ClassifierConfig fromMap(Map<String, Object> m) {
        if (!(m.get("data") instanceof String data)) throw new IllegalArgumentException("classifier config: 'data' is missing or not a string: " + m.get("data"));
        if (!(m.get("augment") instanceof Boolean augment)) {
            throw new IllegalArgumentException("classifier config: 'augment' is missing or not a boolean: " + m.get("augment"));
        }
        return new ClassifierConfig(data, num(m, "seed").longValue(), integer(m, "epochs"),
                integer(m, "batch_size"), num(m, "lr").doubleValue(), num(m, "min_lr").doubleValue(),
                num(m, "warmup_epochs").doubleValue(), num(m, "weight_decay").doubleValue(), num(m, "label_smoothing").doubleValue(),
                num(m, "clip_grad").doubleValue(), integer(m, "width"), integer(m, "depth"), integer(m, "heads"),
                num(m, "mlp_ratio").doubleValue(), num(m, "drop_path").doubleValue(), augment,
                integer(m, "save_every"), integer(m, "limit_train"));
    }

    private static int integer(Map<String, Object> m, String k) {
        if (!(m.get(k) instanceof Number v) || !(v instanceof Long || v instanceof Integer) || v.longValue() != v.intValue()) {
            throw new IllegalArgumentException("classifier config: '" + k + "' is missing or not a 32-bit integer: " + m.get(k));
        }
        return v.intValue();
    }

    private static Number num(Map<String, Object> m, String k) {
        Object v = m.get(k);
        if (!(v instanceof Number n)) throw new IllegalArgumentException("classifier config: '" + k + "' is missing or not a number: " + v);
        return n;
    }
}
