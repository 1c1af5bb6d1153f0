package dev.peco4j.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Function;

/**
 * Compares autodiff gradients with central finite differences in float64, with PyTorch's
 * gradcheck defaults (eps 1e-6, atol 1e-5, rtol 1e-3).
 *
 * <p>A random upstream gradient u (seeded) turns f into the scalar L = Σ u·f(x). Full mode
 * checks every element of every input that requires a gradient: ∂L/∂x_j from backward against
 * (L(x + eps·e_j) − L(x − eps·e_j)) / 2eps. Fast mode (for big inputs) checks random directions v
 * instead: Σ_j ∂L/∂x_j·v_j against (L(x + eps·v) − L(x − eps·v)) / 2eps. Both also check that a zero
 * upstream gradient gives zero input gradients.
 *
 * <pre>{@code
 * Tensor a = Tensor.randn(gen, 3, 4).to(DType.FLOAT64).requiresGrad(true);
 * GradCheck.check("tanh", xs -> xs[0].tanh(), GradCheck.Options.defaults(seed), a);
 * }</pre>
 *
 * Inputs that require a gradient are checked; the others (int indices, constants) are passed through.
 * Contiguous float64 leaves are perturbed in place and restored, as PyTorch does, so a module's own
 * parameters can be checked; other inputs are first copied to such leaves. Their gradients are put
 * back as they were. A failure throws {@link Failure} naming the check, the input index and shape,
 * the element, both values and the seed.
 */
public final class GradCheck {
    private GradCheck() {}

    public enum Mode { FULL, FAST, AUTO }

    /** Tolerances and mode; AUTO uses FAST when the inputs hold more than {@code fastAbove} elements. */
    public record Options(double eps, double atol, double rtol, long seed, Mode mode, int fastAbove) {
        public static Options defaults(long seed) {
            return new Options(1e-6, 1e-5, 1e-3, seed, Mode.AUTO, 4096);
        }

        public Options withMode(Mode m) {
            return new Options(eps, atol, rtol, seed, m, fastAbove);
        }

        public Options withTolerances(double atol, double rtol) {
            return new Options(eps, atol, rtol, seed, mode, fastAbove);
        }
    }

    /** What was checked: the ops met in the graph, and how many comparisons were made. */
    public record Report(Set<String> ops, int comparisons, Mode mode) {}

    /** A gradient that disagrees with finite differences. */
    public static final class Failure extends AssertionError {
        Failure(String message) {
            super(message);
        }
    }

    public static Report check(String name, Function<Tensor[], Tensor> f, Options opt, Tensor... inputs) {
        Tensor[] xs = new Tensor[inputs.length], savedGrads = new Tensor[inputs.length];
        int total = 0;
        for (int i = 0; i < inputs.length; i++) {
            Tensor in = inputs[i];
            if (in.requiresGrad() && in.dtype() != DType.FLOAT64) {
                throw new IllegalArgumentException("gradcheck '" + name + "': input " + i + " is " + in.dtype()
                        + "; gradient checks need float64");
            }
            boolean direct = in.requiresGrad() && in.isLeaf() && in.isContiguous();
            xs[i] = in.requiresGrad() && !direct ? Backends.on(in).copy(in, DType.FLOAT64).requiresGrad(true) : in;
            savedGrads[i] = in.grad();
            if (in.requiresGrad()) {
                total += in.numel();
                xs[i].zeroGrad();
            }
        }
        try {
            return run(name, f, opt, xs, total);
        } finally {
            for (int i = 0; i < inputs.length; i++) if (inputs[i].requiresGrad()) inputs[i].setGrad(savedGrads[i]);
        }
    }

    private static Report run(String name, Function<Tensor[], Tensor> f, Options opt, Tensor[] xs, int total) {
        Mode mode = opt.mode() == Mode.AUTO ? (total > opt.fastAbove() ? Mode.FAST : Mode.FULL) : opt.mode();
        Generator gen = new Generator(opt.seed());

        Tensor out = f.apply(xs);
        String where = "gradcheck '" + name + "' (seed 0x" + Long.toHexString(opt.seed()) + ")";
        if (out.dtype() != DType.FLOAT64) throw new Failure(where + ": output is " + out.dtype() + ", expected float64");
        if (!out.requiresGrad()) throw new Failure(where + ": output " + out.shape() + " does not depend on any input that requires grad");
        Set<String> ops = opsIn(out);
        Tensor u = Tensor.normal(gen, DType.FLOAT64, 0, 1, out.shape().dims());
        out.backward(u);
        double[][] analytic = new double[xs.length][];
        for (int i = 0; i < xs.length; i++) {
            if (!xs[i].requiresGrad()) continue;
            analytic[i] = xs[i].grad() == null ? new double[xs[i].numel()] : xs[i].grad().toDoubleArray();
            xs[i].zeroGrad();
        }

        checkZeroUpstream(where, f, xs);

        int comparisons = 0;
        if (mode == Mode.FULL) {
            for (int i = 0; i < xs.length; i++) {
                if (!xs[i].requiresGrad()) continue;
                double[] data = xs[i].storage.d;
                for (int j = 0; j < xs[i].numel(); j++) {
                    int at = xs[i].offset() + j;
                    double keep = data[at];
                    data[at] = keep + opt.eps();
                    double plus = loss(f, xs, u);
                    data[at] = keep - opt.eps();
                    double minus = loss(f, xs, u);
                    data[at] = keep;
                    double numerical = (plus - minus) / (2 * opt.eps());
                    compare(where, opt, analytic[i][j], numerical,
                            "input " + i + " (shape " + xs[i].shape() + ") at element " + unravel(j, xs[i].shape()));
                    comparisons++;
                }
            }
        } else {
            for (int round = 0; round < 3; round++) {
                double[][] dir = new double[xs.length][];
                double projected = 0;
                for (int i = 0; i < xs.length; i++) {
                    if (!xs[i].requiresGrad()) continue;
                    dir[i] = Tensor.normal(gen, DType.FLOAT64, 0, 1, xs[i].numel()).toDoubleArray();
                    for (int j = 0; j < dir[i].length; j++) projected += analytic[i][j] * dir[i][j];
                }
                shift(xs, dir, opt.eps());
                double plus = loss(f, xs, u);
                shift(xs, dir, -2 * opt.eps());
                double minus = loss(f, xs, u);
                shift(xs, dir, opt.eps());
                compare(where, opt, projected, (plus - minus) / (2 * opt.eps()),
                        "random direction " + round + " over all inputs");
                comparisons++;
            }
        }
        return new Report(ops, comparisons, mode);
    }

    /** A zero upstream gradient must give exactly zero input gradients. */
    private static void checkZeroUpstream(String where, Function<Tensor[], Tensor> f, Tensor[] xs) {
        Tensor out = f.apply(xs);
        out.backward(out.zerosLike());
        for (int i = 0; i < xs.length; i++) {
            if (!xs[i].requiresGrad() || xs[i].grad() == null) continue;
            double[] g = xs[i].grad().toDoubleArray();
            for (int j = 0; j < g.length; j++) {
                if (g[j] != 0) {
                    throw new Failure(where + ": zero upstream gradient gave " + g[j] + " for input " + i
                            + " (shape " + xs[i].shape() + ") at element " + unravel(j, xs[i].shape()));
                }
            }
            xs[i].zeroGrad();
        }
    }

    private static void shift(Tensor[] xs, double[][] dir, double scale) {
        for (int i = 0; i < xs.length; i++) {
            if (dir[i] == null) continue;
            double[] data = xs[i].storage.d;
            for (int j = 0; j < dir[i].length; j++) data[xs[i].offset() + j] += scale * dir[i][j];
        }
    }

    /** Σ u·f(x), without recording. */
    private static double loss(Function<Tensor[], Tensor> f, Tensor[] xs, Tensor u) {
        try (var ignored = Autograd.noGrad()) {
            double[] y = f.apply(xs).toDoubleArray(), w = u.toDoubleArray();
            double s = 0;
            for (int k = 0; k < y.length; k++) s += y[k] * w[k];
            return s;
        }
    }

    private static void compare(String where, Options opt, double analytic, double numerical, String what) {
        double diff = Math.abs(analytic - numerical);
        if (!(diff <= opt.atol() + opt.rtol() * Math.abs(numerical))) {
            throw new Failure(where + ": backward of " + what + " disagrees with finite differences: analytic "
                    + analytic + ", numerical " + numerical + " (|diff| " + diff + " > atol " + opt.atol() + " + rtol "
                    + opt.rtol() + "·|numerical|)");
        }
    }

    /** Names of all ops in the graph that produced out. */
    public static Set<String> opsIn(Tensor out) {
        Set<String> ops = new LinkedHashSet<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Tensor> todo = new ArrayDeque<>();
        todo.push(out);
        while (!todo.isEmpty()) {
            Tensor t = todo.pop();
            if (!seen.add(t) || t.isLeaf()) continue;
            ops.add(t.opName());
            for (Tensor in : t.graphInputs()) todo.push(in);
        }
        return ops;
    }

    private static String unravel(int flat, Shape s) {
        int[] idx = new int[s.rank()];
        for (int d = s.rank() - 1; d >= 0; d--) {
            idx[d] = flat % Math.max(1, s.dim(d));
            flat /= Math.max(1, s.dim(d));
        }
        return Arrays.toString(idx);
    }
}
