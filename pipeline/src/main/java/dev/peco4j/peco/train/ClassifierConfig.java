package dev.peco4j.peco.train;

import java.util.LinkedHashMap;
import java.util.Map;

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
        if (width < 1 || depth < 1 || heads < 1 || width % heads != 0) {
            throw new IllegalArgumentException("train-classifier: --width " + width + " must be divisible by --heads " + heads);
        }
    }

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

    public static ClassifierConfig fromMap(Map<String, Object> m) {
        return new ClassifierConfig((String) m.get("data"), num(m, "seed").longValue(), num(m, "epochs").intValue(),
                num(m, "batch_size").intValue(), num(m, "lr").doubleValue(), num(m, "min_lr").doubleValue(),
                num(m, "warmup_epochs").doubleValue(), num(m, "weight_decay").doubleValue(), num(m, "label_smoothing").doubleValue(),
                num(m, "clip_grad").doubleValue(), num(m, "width").intValue(), num(m, "depth").intValue(), num(m, "heads").intValue(),
                num(m, "mlp_ratio").doubleValue(), num(m, "drop_path").doubleValue(), (Boolean) m.get("augment"),
                num(m, "save_every").intValue(), num(m, "limit_train").intValue());
    }

    private static Number num(Map<String, Object> m, String k) {
        Object v = m.get(k);
        if (!(v instanceof Number n)) throw new IllegalArgumentException("classifier config: '" + k + "' is missing or not a number: " + v);
        return n;
    }
}
