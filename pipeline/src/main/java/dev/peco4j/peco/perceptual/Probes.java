package dev.peco4j.peco.perceptual;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.Linear;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.nn.Schedule;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * How good a frozen representation is, without training the network: a k-NN classifier and a
 * linear probe on its features. Letters: N samples, D feature width, K classes.
 *
 * <ul>
 *   <li>{@link #knn}: cosine similarity to every training feature (L2-normalized), the k nearest vote
 *       with weights exp(sim / T), as the k-NN monitors of MoCo v3 / DINO (k = 20, T = 0.07);</li>
 *   <li>{@link #linearProbe}: features standardized with the training set's mean and variance (a
 *       BatchNorm without affine in eval, BEiT's probe), then a linear classifier trained with AdamW
 *       and cross-entropy on the frozen features, its learning rate chosen on a held-out tenth of
 *       the training set.</li>
 * </ul>
 *
 * <pre>{@code
 * Probes.Features train = Probes.embed(loader, x -> encoder.forward(x));
 * double acc = Probes.knn(train, test, 20, 0.07, 10);
 * }</pre>
 */
public final class Probes {
    private Probes() {}

    /** Features (N, D) float32 and their labels. */
    public record Features(Tensor x, int[] labels) {}

    /** The features of every batch of a loader (in its order), without recording. */
    public static Features embed(DataLoader loader, UnaryOperator<Tensor> net) {
        List<Tensor> parts = new java.util.ArrayList<>();
        int[] labels = new int[0];
        try (var ignored = Autograd.noGrad(); DataLoader.Epoch it = loader.epoch(0, 0)) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                if (b.size() == 0) continue;
                parts.add(net.apply(b.images()).contiguous());
                int[] y = b.labels().toIntArray();
                int n = labels.length;
                labels = java.util.Arrays.copyOf(labels, n + y.length);
                System.arraycopy(y, 0, labels, n, y.length);
            }
        }
        return new Features(Tensor.cat(parts, 0), labels);
    }

    /** Accuracy of the temperature-weighted k-NN vote of test against train. */
    public static double knn(Features train, Features test, int k, double temperature, int classes) {
        Tensor bank = MocoV3.normalize(train.x()).mT().contiguous();                        // (D, Ntrain)
        Tensor q = MocoV3.normalize(test.x());
        int n = q.size(0), right = 0, kk = Math.min(k, bank.size(1));
        for (int start = 0; start < n; start += 256) {
            int rows = Math.min(256, n - start);
            float[] sim;
            try (var ignored = Autograd.noGrad()) {
                sim = q.narrow(0, start, rows).matmul(bank).toFloatArray();              // (rows, Ntrain)
            }
            int m = bank.size(1);
            for (int r = 0; r < rows; r++) {
                int[] top = topK(sim, r * m, m, kk);
                double[] votes = new double[classes];
                for (int j : top) votes[train.labels()[j]] += Math.exp(sim[r * m + j] / temperature);
                int best = 0;
                for (int c = 1; c < classes; c++) if (votes[c] > votes[best]) best = c;
                if (best == test.labels()[start + r]) right++;
            }
        }
        return (double) right / n;
    }

    /** The indices of the k largest of v[off .. off+n) (ties: the lower index first), by a small insertion list. */
    static int[] topK(float[] v, int off, int n, int k) {
        int[] idx = new int[k];
        float[] val = new float[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            float x = v[off + i];
            if (size == k && x <= val[k - 1]) continue;
            int at = size < k ? size++ : k - 1;
            while (at > 0 && val[at - 1] < x) {
                val[at] = val[at - 1];
                idx[at] = idx[at - 1];
                at--;
            }
            val[at] = x;
            idx[at] = i;
        }
        return java.util.Arrays.copyOf(idx, size);
    }

    /** The learning rates a linear probe chooses from (AdamW, cosine to 0). */
    public static final double[] PROBE_LRS = {1e-3, 3e-3, 1e-2};

    /** A linear probe's test accuracy, the learning rate chosen for it and that rate's accuracy on the held-out tenth. */
    public record LinearProbe(double accuracy, double lr, double valAccuracy) {}

    /**
     * A linear probe whose learning rate is chosen without looking at the test set: each rate of
     * {@link #PROBE_LRS} is trained on nine tenths of the training features and scored on the other
     * tenth (a seeded split); the best (ties: the smaller rate) is trained again on all of them and
     * scored on test. Each representation so gets its own best rate (raw pixels overfit at rates
     * where 96-wide features are still underfit), as DINO's linear evaluation sweeps rates.
     */
    public static LinearProbe linearProbe(Features train, Features test, int classes, int epochs, long seed) {
        int n = train.labels().length, nVal = n / 10;
        double best = PROBE_LRS[0], bestVal = Double.NaN;
        if (nVal > 0) {
            int[] order = shuffled(n, Generator.derive(seed, 9));
            Features val = subset(train, java.util.Arrays.copyOfRange(order, 0, nVal)), fit = subset(train, java.util.Arrays.copyOfRange(order, nVal, n));
            for (double lr : PROBE_LRS) {
                double acc = linearProbe(fit, val, classes, epochs, lr, seed);
                if (!(acc <= bestVal)) {
                    best = lr;
                    bestVal = acc;
                }
            }
        }
        return new LinearProbe(linearProbe(train, test, classes, epochs, best, seed), best, bestVal);
    }

    /**
     * Test accuracy of a linear classifier trained on standardized frozen features (a BatchNorm
     * without affine in eval, BEiT's probe): AdamW without weight decay, batch 256, the given lr on a
     * per-step cosine to 0 (as MoCo v3's main_lincls decays its rate).
     */
    public static double linearProbe(Features train, Features test, int classes, int epochs, double lr, long seed) {
        Tensor mean = train.x().mean(new int[] {0}, true), std = train.x().var(new int[] {0}, 0, true).add(1e-6).sqrt();
        Tensor xtr = train.x().sub(mean).div(std).contiguous(), xte = test.x().sub(mean).div(std).contiguous();
        Generator gen = Generator.derive(seed, 7);
        Linear head = new Linear(gen, xtr.size(1), classes);
        AdamW opt = new AdamW(List.of(new ParamGroup("probe", head.parameters(), lr, 0)), AdamW.Config.DEFAULT);
        int n = xtr.size(0), it = 0;
        Schedule schedule = Schedule.cosine(lr, 0, Math.max(1, epochs * ((n + 255) / 256)), 0);
        Tensor ytr = Tensor.ofInts(train.labels(), n);
        for (int e = 0; e < epochs; e++) {
            int[] order = shuffled(n, Generator.derive(seed, 8, e));
            for (int s = 0; s < n; s += 256) {
                int[] idx = java.util.Arrays.copyOfRange(order, s, Math.min(n, s + 256));
                Tensor sel = Tensor.ofInts(idx, idx.length);
                opt.applySchedule(schedule.at(it++));
                opt.zeroGrad();
                Functional.crossEntropy(head.forward(xtr.indexSelect(0, sel)), ytr.indexSelect(0, sel), 0).backward();
                opt.step();
            }
        }
        int right = 0;
        try (var ignored = Autograd.noGrad()) {
            int[] pred = head.forward(xte).argmax(1, false).toIntArray();
            for (int i = 0; i < pred.length; i++) if (pred[i] == test.labels()[i]) right++;
        }
        return (double) right / test.labels().length;
    }

    /** 0..n−1 in a Fisher–Yates order of g. */
    private static int[] shuffled(int n, Generator g) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = g.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static Features subset(Features f, int[] rows) {
        int[] labels = new int[rows.length];
        for (int i = 0; i < rows.length; i++) labels[i] = f.labels()[rows[i]];
        return new Features(f.x().indexSelect(0, Tensor.ofInts(rows, rows.length)), labels);
    }
}
