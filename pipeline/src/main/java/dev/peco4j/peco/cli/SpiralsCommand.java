package dev.peco4j.peco.cli;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code peco spirals}: the stack end to end on data it makes itself. A 2-layer MLP learns to tell
 * apart K interleaved spirals (the classic non-linear toy problem) with full-batch gradient descent
 * on the autodiff engine. Letters: N points, D = 2 inputs, H hidden units, K classes.
 */
@Command(name = "spirals", description = "Train a small MLP on generated spirals with the autodiff engine.")
final class SpiralsCommand implements Callable<Integer> {
    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--classes", defaultValue = "3", description = "Number of spirals (default ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--points", defaultValue = "200", description = "Points per spiral (default ${DEFAULT-VALUE}).")
    int points;

    @Option(names = "--hidden", defaultValue = "64", description = "Hidden units (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--steps", defaultValue = "600", description = "Gradient steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--lr", defaultValue = "1.0", description = "Learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Override
    public Integer call() {
        if (classes < 2 || points < 2 || hidden < 1 || steps < 1 || !(lr > 0)) {
            throw new IllegalArgumentException("spirals: need --classes >= 2, --points >= 2, --hidden >= 1, --steps >= 1, --lr > 0");
        }
        Generator gen = new Generator(seed);
        int n = classes * points;
        // K spirals: radius r in [0, 1), angle k·4 + 4r plus noise
        double[] xy = new double[2 * n];
        int[] label = new int[n];
        Tensor noise = Tensor.normal(gen, DType.FLOAT64, 0, 0.2, n);
        for (int k = 0; k < classes; k++) {
            for (int i = 0; i < points; i++) {
                int p = k * points + i;
                double r = (double) i / points, t = k * 4.0 + 4.0 * r + noise.getDouble(p);
                xy[2 * p] = r * Math.sin(t);
                xy[2 * p + 1] = r * Math.cos(t);
                label[p] = k;
            }
        }
        Tensor x = Tensor.of(toFloats(xy), n, 2);                 // (N, D)
        Tensor y = Tensor.ofInts(label, n);                        // (N)
        Tensor w1 = Tensor.normal(gen, DType.FLOAT32, 0, 1.0, hidden, 2).requiresGrad(true);            // (H, D)
        Tensor b1 = Tensor.zeros(hidden).requiresGrad(true);
        Tensor w2 = Tensor.normal(gen, DType.FLOAT32, 0, 1.0 / Math.sqrt(hidden), classes, hidden).requiresGrad(true); // (K, H)
        Tensor b2 = Tensor.zeros(classes).requiresGrad(true);
        List<Tensor> params = List.of(w1, b1, w2, b2);
        System.out.printf("spirals: %d classes x %d points, MLP 2-%d-%d, %d steps, lr %s, seed %d%n",
                classes, points, hidden, classes, steps, lr, seed);
        long start = System.nanoTime();
        double loss = Double.NaN;
        for (int step = 1; step <= steps; step++) {
            Tensor logits = Functional.linear(Functional.linear(x, w1, b1).relu(), w2, b2); // (N, K)
            Tensor l = Functional.crossEntropy(logits, y, 0.0);
            loss = l.item();
            if (!Double.isFinite(loss)) throw new IllegalStateException("spirals: loss is " + loss + " at step " + step);
            l.backward();
            try (var ignored = Autograd.noGrad()) {
                for (Tensor p : params) {
                    p.addInPlace(p.grad(), -lr);
                    p.zeroGrad();
                }
            }
            if (step == 1 || step % 100 == 0 || step == steps) {
                System.out.printf("step %4d  loss %.4f  accuracy %.1f%%%n", step, loss, 100 * accuracy(logits, label));
            }
        }
        Tensor logits;
        try (var ignored = Autograd.noGrad()) {
            logits = Functional.linear(Functional.linear(x, w1, b1).relu(), w2, b2);
        }
        System.out.printf("done in %.1f s: final loss %.4f, training accuracy %.1f%%%n",
                (System.nanoTime() - start) / 1e9, loss, 100 * accuracy(logits, label));
        return 0;
    }

    private static double accuracy(Tensor logits, int[] label) {
        int[] pred = logits.argmax(1, false).toIntArray();
        int right = 0;
        for (int i = 0; i < label.length; i++) if (pred[i] == label[i]) right++;
        return (double) right / label.length;
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
