package dev.peco4j.tensor.testing;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * Random test inputs for one property case: sizes, shapes (size-1 dims are favoured), broadcasting
 * pairs, values kept away from kinks, and inputs in non-contiguous layouts (permuted, sliced with a
 * step, expanded) together with the view that turns a contiguous leaf into them.
 */
public final class Gen {
    private final long seed;
    private final Generator rng;
    private final StringBuilder log = new StringBuilder();

    Gen(long seed) {
        this.seed = seed;
        this.rng = new Generator(seed);
    }

    public long seed() {
        return seed;
    }

    /** What this case generated so far, for the failure message. */
    String log() {
        return log.length() == 0 ? "(none logged)" : log.toString();
    }

    /** Notes a generated value in the failure message. */
    public void note(String what) {
        if (log.length() > 0) log.append("; ");
        log.append(what);
    }

    /** Uniform integer in [lo, hi], both inclusive. */
    public int intIn(int lo, int hi) {
        return lo + (int) Math.floor(rng.nextDouble() * (hi - lo + 1));
    }

    public boolean chance(double p) {
        return rng.nextDouble() < p;
    }

    public double uniform(double lo, double hi) {
        return lo + (hi - lo) * rng.nextDouble();
    }

    public <T> T pick(T[] options) {
        return options[intIn(0, options.length - 1)];
    }

    /** A shape of rank in [minRank, maxRank], sizes in [1, maxSize], one in four sizes forced to 1. */
    public int[] shape(int minRank, int maxRank, int maxSize) {
        int[] s = new int[intIn(minRank, maxRank)];
        for (int i = 0; i < s.length; i++) s[i] = chance(0.25) ? 1 : intIn(1, maxSize);
        note("shape " + Arrays.toString(s));
        return s;
    }

    /** Two shapes that broadcast: each drops some leading dims and sets some dims to 1. */
    public int[][] broadcastPair(int minRank, int maxRank, int maxSize) {
        int[] full = shape(minRank, maxRank, maxSize);
        int[][] out = new int[2][];
        for (int k = 0; k < 2; k++) {
            int drop = chance(0.3) ? intIn(0, full.length) : 0;
            int[] s = Arrays.copyOfRange(full, drop, full.length);
            for (int i = 0; i < s.length; i++) if (chance(0.3)) s[i] = 1;
            out[k] = s;
        }
        note("broadcast " + Arrays.toString(out[0]) + " with " + Arrays.toString(out[1]));
        return out;
    }

    /** Values uniform in [lo, hi] with no value within {@code margin} of any kink. */
    public record Values(double lo, double hi, double margin, double... kinks) {
        public static final Values DEFAULT = new Values(-2, 2, 0);
    }

    public double value(Values v) {
        for (int attempt = 0; ; attempt++) {
            double x = uniform(v.lo(), v.hi());
            boolean ok = true;
            for (double k : v.kinks()) ok &= Math.abs(x - k) >= v.margin();
            if (ok || attempt > 1000) return x;
        }
    }

    /** A contiguous float64 tensor of shape with values from v. */
    public Tensor values(int[] shape, Values v) {
        int n = 1;
        for (int s : shape) n *= s;
        double[] d = new double[n];
        for (int k = 0; k < n; k++) d[k] = value(v);
        return Tensor.of(d, shape);
    }

    public Tensor values(int[] shape, double lo, double hi) {
        return values(shape, new Values(lo, hi, 0));
    }

    /** Int32 values uniform in [lo, hi]. */
    public Tensor ints(int[] shape, int lo, int hi) {
        int n = 1;
        for (int s : shape) n *= s;
        int[] d = new int[n];
        for (int k = 0; k < n; k++) d[k] = intIn(lo, hi);
        return Tensor.ofInts(d, shape);
    }

    /** How an input of the target shape is laid out. */
    public enum Layout { CONTIGUOUS, PERMUTED, SLICED, EXPANDED }

    /**
     * A leaf (contiguous, float64, requiring grad) and the view that turns it into a tensor of the
     * target shape in {@link #layout}. Pass {@link #leaf} to gradient checks and apply {@link #view}
     * to the leaf they hand back.
     */
    public record Input(Tensor leaf, Layout layout, UnaryOperator<Tensor> view) {
        public Tensor view(Tensor leafCopy) {
            return view.apply(leafCopy);
        }

        /** The target-shaped tensor, from this input's own leaf. */
        public Tensor value() {
            return view.apply(leaf);
        }
    }

    public Input input(int[] shape) {
        return input(shape, Values.DEFAULT);
    }

    /** An input of the target shape in a random layout (contiguous in one case of four). */
    public Input input(int[] shape, Values v) {
        Layout layout = pick(Layout.values());
        Input in = switch (layout) {
            case CONTIGUOUS -> new Input(values(shape, v), layout, t -> t);
            case PERMUTED -> permuted(shape, v);
            case SLICED -> sliced(shape, v);
            case EXPANDED -> expanded(shape, v);
        };
        in.leaf().requiresGrad(true);
        note(in.layout() + " leaf " + in.leaf().shape() + " -> " + Arrays.toString(shape));
        return in;
    }

    private Input permuted(int[] shape, Values v) {
        int r = shape.length;
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = intIn(0, i);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] base = new int[r];
        for (int i = 0; i < r; i++) base[perm[i]] = shape[i]; // base.permute(perm) has the target shape
        return new Input(values(base, v), Layout.PERMUTED, t -> t.permute(perm));
    }

    private Input sliced(int[] shape, Values v) {
        if (shape.length == 0) return new Input(values(shape, v), Layout.CONTIGUOUS, t -> t);
        int d = intIn(0, shape.length - 1), step = intIn(1, 3), start = intIn(0, 2);
        int[] base = shape.clone();
        base[d] = start + Math.max(0, shape[d] - 1) * step + 1 + intIn(0, 2);
        int end = start + Math.max(0, shape[d] - 1) * step + 1;
        if (shape[d] == 0) end = start;
        int endF = end;
        return new Input(values(base, v), Layout.SLICED, t -> t.slice(d, start, endF, step));
    }

    private Input expanded(int[] shape, Values v) {
        int drop = chance(0.5) && shape.length > 0 ? 1 : 0;
        int[] base = Arrays.copyOfRange(shape, drop, shape.length);
        boolean any = drop > 0;
        for (int i = 0; i < base.length; i++) {
            if (chance(0.4)) {
                base[i] = 1;
                any = true;
            }
        }
        if (!any) return new Input(values(shape, v), Layout.CONTIGUOUS, t -> t);
        return new Input(values(base, v), Layout.EXPANDED, t -> t.expand(shape));
    }

    /** Convenience: a float64 tensor already in float64 from a float32 one. */
    public static Tensor f64(Tensor t) {
        return t.to(DType.FLOAT64);
    }
}
