package dev.peco4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorized float32 loops: elementwise maps and zips, row sums, softmax. Each has the same contract
 * as a line of the scalar reference and is tested against it.
 *
 * <p>Determinism. Only exactly rounded operations are used (add, mul, div, sqrt, fma, conversions),
 * because they give the same bits interpreted, C1- or C2-compiled. The Vector API's transcendental
 * lanewise ops (EXP, LOG, TANH) and float {@code reduceLanes(ADD)} do not: their intrinsic and
 * fallback forms differ, so results would depend on JIT timing (seen as log_softmax differing
 * between runs with 1 and 3 threads). Hence our own {@link #exp}, lane sums in a fixed scalar order,
 * and the scalar formula for tanh and log. Maps that approximate run the vector formula on every
 * element: the last partial vector goes through a padded buffer, so an element's value never depends
 * on where a thread's chunk starts.
 */
final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private VectorMath() {}

    static boolean hasVectorForm(BinaryOps.Fn fn) {
        return switch (fn) {
            case ADD, SUB, MUL, DIV, MINIMUM, MAXIMUM -> true;
            default -> false;
        };
    }

    private static float apply(BinaryOps.Fn fn, float a, float b) {
        return switch (fn) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case MINIMUM -> Math.min(a, b);
            case MAXIMUM -> Math.max(a, b);
            default -> throw new IllegalStateException(fn + " has no vector form");
        };
    }

    /**
     * y[yo+i] = fn(a[ao+i], b[bo+i]) for i < n. IEEE basic ops: scalar and vector lanes agree exactly.
     * One loop per op: through a shared vector helper (a switch per vector), C2 at times did not inline
     * the helper and boxed every vector, which doubled a fine-tuning step's allocation (593 → 1478 MiB).
     */
    static void zip(BinaryOps.Fn fn, float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
        int i = 0, bound = S.loopBound(n);
        switch (fn) {
            case ADD -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i); }
            case SUB -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).sub(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i); }
            case MUL -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i); }
            case DIV -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).div(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i); }
            case MINIMUM -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).min(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i); }
            case MAXIMUM -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).max(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i); }
            default -> throw new IllegalStateException(fn + " has no vector form");
        }
        for (; i < n; i++) y[yo + i] = apply(fn, a[ao + i], b[bo + i]);
    }

    /** y[yo+i] = fn(a[ao+i], v), one loop per op as {@link #zip}. */
    static void zipScalar(BinaryOps.Fn fn, float[] a, int ao, float v, float[] y, int yo, int n) {
        FloatVector bv = FloatVector.broadcast(S, v);
        int i = 0, bound = S.loopBound(n);
        switch (fn) {
            case ADD -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).add(bv).intoArray(y, yo + i); }
            case SUB -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).sub(bv).intoArray(y, yo + i); }
            case MUL -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).mul(bv).intoArray(y, yo + i); }
            case DIV -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).div(bv).intoArray(y, yo + i); }
            case MINIMUM -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).min(bv).intoArray(y, yo + i); }
            case MAXIMUM -> { for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).max(bv).intoArray(y, yo + i); }
            default -> throw new IllegalStateException(fn + " has no vector form");
        }
        for (; i < n; i++) y[yo + i] = apply(fn, a[ao + i], v);
    }

    /** Whether map has a vector form for this function (otherwise a float loop over the reference formula). */
    private static boolean vectorized(UnaryOps.Fn fn) {
        return switch (fn.op()) {
            case NEG, EXP, SQRT, RSQRT, ABS, RELU, RELU6, LEAKY_RELU, CLAMP, SIGMOID, SILU, GELU -> true;
            case POW_SCALAR -> fn.p0() == 2;
            default -> false;
        };
    }

    /** y = f(x) on n elements. */
    static void map(UnaryOps.Fn fn, float[] x, int xo, float[] y, int yo, int n) {
        if (!vectorized(fn)) {
            for (int i = 0; i < n; i++) y[yo + i] = (float) fn.f().applyAsDouble(x[xo + i]);
            return;
        }
        // Every function gets a loop of its own: a loop that calls the big apply() switch is not always
        // inlined by C2, and then every FloatVector crossing the call is boxed on the heap (3x slower GELU).
        switch (fn.op()) {
            case GELU -> { mapGelu(x, xo, y, yo, n); return; }
            case EXP -> { mapExp(x, xo, y, yo, n); return; }
            case SIGMOID -> { mapSigmoid(x, xo, y, yo, n); return; }
            case SILU -> { mapSilu(x, xo, y, yo, n); return; }
            case LEAKY_RELU -> { mapLeakyRelu(x, xo, y, yo, n, (float) fn.p0()); return; }
            default -> { }
        }
        int i = 0, bound = S.loopBound(n);
        float p0 = (float) fn.p0(), p1 = (float) fn.p1();
        switch (fn.op()) {
            case NEG -> { for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).neg().intoArray(y, yo + i); }
            case SQRT -> { for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).sqrt().intoArray(y, yo + i); }
            case RSQRT -> { for (; i < bound; i += L) FloatVector.broadcast(S, 1f).div(FloatVector.fromArray(S, x, xo + i).sqrt()).intoArray(y, yo + i); }
            case ABS -> { for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).abs().intoArray(y, yo + i); }
            case RELU -> { for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).max(0f).intoArray(y, yo + i); }
            case RELU6 -> { for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).max(0f).min(6f).intoArray(y, yo + i); }
            case CLAMP -> { for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).max(p0).min(p1).intoArray(y, yo + i); }
            case POW_SCALAR -> { for (; i < bound; i += L) { FloatVector v = FloatVector.fromArray(S, x, xo + i); v.mul(v).intoArray(y, yo + i); } }
            default -> throw new IllegalStateException(fn.op() + " has no vector form");
        }
        if (i < n) { // the tail through a padded buffer: same formula as the lanes
            float[] pad = new float[L];
            System.arraycopy(x, xo + i, pad, 0, n - i);
            apply(fn, FloatVector.fromArray(S, pad, 0)).intoArray(pad, 0);
            System.arraycopy(pad, 0, y, yo + i, n - i);
        }
    }

    private static void mapGelu(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) gelu(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        if (i < n) gelu(tail(x, xo + i, n - i)).intoArray(y, yo + i, S.indexInRange(0, n - i));
    }

    private static void mapExp(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) exp(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        if (i < n) exp(tail(x, xo + i, n - i)).intoArray(y, yo + i, S.indexInRange(0, n - i));
    }

    private static void mapSigmoid(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) sigmoid(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        if (i < n) sigmoid(tail(x, xo + i, n - i)).intoArray(y, yo + i, S.indexInRange(0, n - i));
    }

    private static void mapSilu(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.mul(sigmoid(v)).intoArray(y, yo + i);
        }
        if (i < n) {
            FloatVector v = tail(x, xo + i, n - i);
            v.mul(sigmoid(v)).intoArray(y, yo + i, S.indexInRange(0, n - i));
        }
    }

    /** max(x, s·x) (the slope s is below 1), the same formula as apply's. */
    private static void mapLeakyRelu(float[] x, int xo, float[] y, int yo, int n, float slope) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.max(v.mul(slope)).intoArray(y, yo + i);
        }
        if (i < n) {
            FloatVector v = tail(x, xo + i, n - i);
            v.max(v.mul(slope)).intoArray(y, yo + i, S.indexInRange(0, n - i));
        }
    }

    /** The last n < L elements from off, zero-padded to a full vector. */
    private static FloatVector tail(float[] a, int off, int n) {
        return FloatVector.fromArray(S, a, off, S.indexInRange(0, n));
    }

    /**
     * GELU'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π). Φ(x) is read off the forward output y = x·Φ(x)
     * as y/x (Φ(0) = ½), so the derivative costs one exp instead of the erfc fit and a second exp.
     */
    private static FloatVector geluDerivative(FloatVector x, FloatVector y) {
        FloatVector cdf = y.div(x).blend(0.5f, x.compare(VectorOperators.EQ, 0f));
        return x.mul(exp(x.mul(x).mul(-0.5f))).mul((float) (1 / Math.sqrt(2 * Math.PI))).add(cdf);
    }

    private static void mapBackwardGelu(float[] x, int xo, float[] y, int yo, float[] g, int go, float[] dx, int dxo, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            geluDerivative(FloatVector.fromArray(S, x, xo + i), FloatVector.fromArray(S, y, yo + i))
                    .mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i);
        }
        if (i < n) {
            var m = S.indexInRange(0, n - i);
            geluDerivative(tail(x, xo + i, n - i), tail(y, yo + i, n - i)).mul(FloatVector.fromArray(S, g, go + i, m))
                    .intoArray(dx, dxo + i, m);
        }
    }

    private static void mapBackwardRelu(float[] x, int xo, float[] g, int go, float[] dx, int dxo, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            one.blend(0f, v.compare(VectorOperators.LE, 0f)).mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) dx[dxo + i] = (x[xo + i] <= 0 ? 0f : 1f) * g[go + i];
    }

    /** dx = g where x > 0, else g·slope. */
    private static void mapBackwardLeakyRelu(float[] x, int xo, float[] g, int go, float[] dx, int dxo, int n, float slope) {
        FloatVector s = FloatVector.broadcast(S, slope);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            s.blend(1f, v.compare(VectorOperators.GT, 0f)).mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) dx[dxo + i] = (x[xo + i] > 0 ? 1f : slope) * g[go + i];
    }

    /** SiLU'(x) = s·(1 + x·(1 − s)) with the sigmoid s = y/x read off the forward output y = x·s (s(0) = ½). */
    private static FloatVector siluDerivative(FloatVector x, FloatVector y) {
        FloatVector sg = y.div(x).blend(0.5f, x.compare(VectorOperators.EQ, 0f)), one = FloatVector.broadcast(S, 1f);
        return sg.mul(one.add(x.mul(one.sub(sg))));
    }

    private static void mapBackwardSilu(float[] x, int xo, float[] y, int yo, float[] g, int go, float[] dx, int dxo, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            siluDerivative(FloatVector.fromArray(S, x, xo + i), FloatVector.fromArray(S, y, yo + i))
                    .mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i);
        }
        if (i < n) {
            var m = S.indexInRange(0, n - i);
            siluDerivative(tail(x, xo + i, n - i), tail(y, yo + i, n - i)).mul(FloatVector.fromArray(S, g, go + i, m))
                    .intoArray(dx, dxo + i, m);
        }
    }

    private static FloatVector apply(UnaryOps.Fn fn, FloatVector v) {
        return switch (fn.op()) {
            case NEG -> v.neg();
            case EXP -> exp(v);
            case SQRT -> v.sqrt();
            case RSQRT -> FloatVector.broadcast(S, 1f).div(v.sqrt());
            case ABS -> v.abs();
            case RELU -> v.max(0f);
            case RELU6 -> v.max(0f).min(6f);
            case LEAKY_RELU -> v.max(v.mul((float) fn.p0()));  // slope < 1: max(x, s·x)
            case CLAMP -> v.max((float) fn.p0()).min((float) fn.p1());
            case SIGMOID -> sigmoid(v);
            case SILU -> v.mul(sigmoid(v));
            case GELU -> gelu(v);
            case POW_SCALAR -> v.mul(v);
            default -> throw new IllegalStateException(fn.op() + " has no vector form");
        };
    }

    private static FloatVector sigmoid(FloatVector v) {
        return FloatVector.broadcast(S, 1f).div(exp(v.neg()).add(1f));
    }

    /**
     * Exact GELU x·Φ(x) = ½x·erfc(−x/√2), with erfc from the Chebyshev fit of Numerical Recipes
     * (erfcc: fractional error below 1.2e-7 everywhere): for z ≥ 0, t = 1/(1 + z/2),
     * erfc(z) = t·exp(−z² − 1.26551223 + t·(1.00002368 + …)); erfc(−z) = 2 − erfc(z).
     */
    static FloatVector gelu(FloatVector x) {
        return x.mul(normalCdf(x));
    }

    /** Φ(x) = ½·erfc(−x/√2), by the erfc fit below. */
    static FloatVector normalCdf(FloatVector x) {
        FloatVector z = x.mul((float) (-1 / Math.sqrt(2)));       // erfc argument
        FloatVector az = z.abs();
        FloatVector t = FloatVector.broadcast(S, 1f).div(az.mul(0.5f).add(1f));
        FloatVector poly = t.mul(0.17087277f).add(-0.82215223f);
        poly = t.mul(poly).add(1.48851587f);
        poly = t.mul(poly).add(-1.13520398f);
        poly = t.mul(poly).add(0.27886807f);
        poly = t.mul(poly).add(-0.18628806f);
        poly = t.mul(poly).add(0.09678418f);
        poly = t.mul(poly).add(0.37409196f);
        poly = t.mul(poly).add(1.00002368f);
        poly = t.mul(poly).add(-1.26551223f);
        FloatVector erfcAbs = t.mul(exp(az.mul(az).neg().add(poly)));
        FloatVector erfc = erfcAbs.blend(FloatVector.broadcast(S, 2f).sub(erfcAbs), z.compare(VectorOperators.LT, 0f));
        return erfc.mul(0.5f);
    }

    /** Whether mapBackward has a vector form for this function's derivative. */
    private static boolean vectorDerivative(UnaryOps.Fn fn) {
        return switch (fn.op()) {
            case NEG, EXP, RELU, LEAKY_RELU, SIGMOID, TANH, SILU, GELU -> true;
            default -> false;
        };
    }

    /** dx = g·f'(x, y) on n elements (the tail through a padded buffer, as in map). */
    static void mapBackward(UnaryOps.Fn fn, float[] x, int xo, float[] y, int yo, float[] g, int go, float[] dx, int dxo, int n) {
        if (!vectorDerivative(fn)) {
            for (int i = 0; i < n; i++) dx[dxo + i] = (float) (g[go + i] * fn.df().at(x[xo + i], y[yo + i]));
            return;
        }
        switch (fn.op()) {
            case GELU -> { mapBackwardGelu(x, xo, y, yo, g, go, dx, dxo, n); return; }
            case RELU -> { mapBackwardRelu(x, xo, g, go, dx, dxo, n); return; }
            case SILU -> { mapBackwardSilu(x, xo, y, yo, g, go, dx, dxo, n); return; }
            case LEAKY_RELU -> { mapBackwardLeakyRelu(x, xo, g, go, dx, dxo, n, (float) fn.p0()); return; }
            default -> { }
        }
        // one loop per function, as in map: vectors through the derivative() switch were boxed where C2 did not inline it
        int i = 0, bound = S.loopBound(n);
        FloatVector one = FloatVector.broadcast(S, 1f);
        switch (fn.op()) {
            case NEG -> { for (; i < bound; i += L) one.neg().mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i); }
            case EXP -> { for (; i < bound; i += L) FloatVector.fromArray(S, y, yo + i).mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i); }
            case SIGMOID -> {
                for (; i < bound; i += L) {
                    FloatVector v = FloatVector.fromArray(S, y, yo + i);
                    v.mul(one.sub(v)).mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i);
                }
            }
            case TANH -> {
                for (; i < bound; i += L) {
                    FloatVector v = FloatVector.fromArray(S, y, yo + i);
                    one.sub(v.mul(v)).mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, dxo + i);
                }
            }
            default -> throw new IllegalStateException(fn.op() + " has no vector derivative");
        }
        if (i < n) {
            float[] px = new float[L], py = new float[L], pg = new float[L];
            System.arraycopy(x, xo + i, px, 0, n - i);
            System.arraycopy(y, yo + i, py, 0, n - i);
            System.arraycopy(g, go + i, pg, 0, n - i);
            derivative(fn, FloatVector.fromArray(S, px, 0), FloatVector.fromArray(S, py, 0))
                    .mul(FloatVector.fromArray(S, pg, 0)).intoArray(px, 0);
            System.arraycopy(px, 0, dx, dxo + i, n - i);
        }
    }

    private static FloatVector derivative(UnaryOps.Fn fn, FloatVector x, FloatVector y) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        return switch (fn.op()) {
            case NEG -> one.neg();
            case EXP -> y;
            case RELU -> one.blend(0f, x.compare(VectorOperators.LE, 0f));
            case LEAKY_RELU -> FloatVector.broadcast(S, (float) fn.p0()).blend(1f, x.compare(VectorOperators.GT, 0f));
            case SIGMOID -> y.mul(one.sub(y));
            case TANH -> one.sub(y.mul(y));
            case SILU -> siluDerivative(x, y);
            case GELU -> geluDerivative(x, y);
            default -> throw new IllegalStateException(fn.op() + " has no vector derivative");
        };
    }

    /**
     * e^x for float lanes (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial,
     * 2^n from the exponent bits. About 2 ulp; 0 below −87.33 (no subnormals), ∞ above 88.72, NaN stays
     * NaN. n = round(x·log2 e) comes from adding 1.5·2²³, which leaves n in the low mantissa bits of the
     * sum; those bits shifted into the exponent field are 2^n. Lanes outside the range compute garbage
     * (or NaN from ∞ − ∞) and are replaced at the end.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector t = x.mul(1.44269504088896341f).add(12582912f);                           // 1.5·2²³ + n
        FloatVector n = t.sub(12582912f);
        FloatVector r = n.fma(FloatVector.broadcast(S, -0.693359375f), x);
        r = n.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, 1.9875691500e-4f), FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        FloatVector pow2 = t.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        y = y.mul(pow2);
        y = y.blend(0f, x.compare(VectorOperators.LT, -87.33654f));
        return y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, 88.72283f));
    }

    /** Σ a[off..off+n): lane-wise partial sums, then the lanes and the tail added in a fixed order. */
    static float sum(float[] a, int off, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) acc = acc.add(FloatVector.fromArray(S, a, off + i));
        float[] lanes = acc.toArray();
        float s = 0;
        for (float v : lanes) s += v;
        for (; i < n; i++) s += a[off + i];
        return s;
    }

    /** y[yo+i] = a[ao+i]·v: zipScalar(MUL) without its switch, for the short rows of attention and group norm. */
    static void scale(float[] a, int ao, float v, float[] y, int yo, int n) {
        FloatVector vv = FloatVector.broadcast(S, v);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).mul(vv).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = a[ao + i] * v;
    }

    /**
     * a[off..off+n) = e^(a − shift) in place, and their sum: softmax's numerators in one pass, with the
     * bits of zipScalar(SUB), map(EXP) and {@link #sum} one after the other (the same operations, the
     * sum's lanes and tail in the same order).
     */
    static float expShiftedSum(float[] a, int off, float shift, int n) {
        FloatVector acc = FloatVector.zero(S), sh = FloatVector.broadcast(S, shift);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, a, off + i).sub(sh));
            e.intoArray(a, off + i);
            acc = acc.add(e);
        }
        float s = 0;
        for (float v : acc.toArray()) s += v;
        if (i < n) {
            exp(tail(a, off + i, n - i).sub(sh)).intoArray(a, off + i, S.indexInRange(0, n - i));
            for (; i < n; i++) s += a[off + i];
        }
        return s;
    }

    /** a[off..off+n) = e^(a − shift) in place (zipScalar(SUB) then map(EXP), in one pass). */
    static void expShifted(float[] a, int off, float shift, int n) {
        FloatVector sh = FloatVector.broadcast(S, shift);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) exp(FloatVector.fromArray(S, a, off + i).sub(sh)).intoArray(a, off + i);
        if (i < n) exp(tail(a, off + i, n - i).sub(sh)).intoArray(a, off + i, S.indexInRange(0, n - i));
    }

    /** a[ao + i] = (a[ao + i] − v)·b[bo + i] (zipScalar(SUB) then zip(MUL), in one pass). */
    static void subMul(float[] a, int ao, float v, float[] b, int bo, int n) {
        FloatVector vv = FloatVector.broadcast(S, v);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).sub(vv).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(a, ao + i);
        for (; i < n; i++) a[ao + i] = (a[ao + i] - v) * b[bo + i];
    }

    /** max over a[off, off + n) (−∞ when n = 0); a maximum is exact, so the order does not matter. */
    static float max(float[] a, int off, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) acc = acc.max(FloatVector.fromArray(S, a, off + i));
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) m = Math.max(m, a[off + i]);
        return m;
    }

    /** The index of the first maximum (or minimum) of a[off, off + n), n > 0; the first NaN when there is one (as argmax). */
    static int argExtreme(float[] a, int off, int n, boolean min) {
        FloatVector acc = FloatVector.broadcast(S, min ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, a, off + i);
            acc = min ? acc.min(v) : acc.max(v);                          // NaN propagates, as in Math.min/max
        }
        float m = acc.reduceLanes(min ? VectorOperators.MIN : VectorOperators.MAX);
        for (; i < n; i++) m = min ? Math.min(m, a[off + i]) : Math.max(m, a[off + i]);
        if (Float.isNaN(m)) {
            for (i = 0; i < n; i++) if (Float.isNaN(a[off + i])) return i;
        }
        for (i = 0; i < n; i++) if (a[off + i] == m) return i;
        return 0;
    }

    /** Σ a[ao + i]·b[bo + i] over n: lane-wise partial sums, then the lanes and the tail in order (as sum). */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        float s = 0;
        for (float v : acc.toArray()) s += v;
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /** dst[doff+i] += src[so+i]. */
    static void addInto(float[] src, int so, float[] dst, int doff, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, dst, doff + i).add(FloatVector.fromArray(S, src, so + i)).intoArray(dst, doff + i);
        }
        for (; i < n; i++) dst[doff + i] += src[so + i];
    }

    /** The Adam/AdamW update of n elements, in float32, in PyTorch's order of operations. */
    static void adamStep(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int n, AdamStep s) {
        float b1 = (float) s.beta1(), b2 = (float) s.beta2(), c1 = (float) (1 - s.beta1()), c2 = (float) (1 - s.beta2());
        float decay = (float) (1 - s.lr() * s.weightDecay()), wd = (float) s.weightDecay(), eps = (float) s.eps();
        float stepSize = (float) (s.lr() / s.biasCorrection1()), bc2 = (float) Math.sqrt(s.biasCorrection2());
        boolean decoupled = s.decoupled(), decays = s.weightDecay() != 0;
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector pv = FloatVector.fromArray(S, p, po + i), gv = FloatVector.fromArray(S, g, go + i);
            if (decays) {
                if (decoupled) pv = pv.mul(decay);
                else gv = gv.add(pv.mul(wd));
            }
            FloatVector mv = FloatVector.fromArray(S, m, mo + i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(S, v, vo + i).mul(b2).add(gv.mul(gv).mul(c2));
            FloatVector denom = vv.sqrt().div(bc2).add(eps);
            pv.sub(mv.div(denom).mul(stepSize)).intoArray(p, po + i);
            mv.intoArray(m, mo + i);
            vv.intoArray(v, vo + i);
        }
        for (; i < n; i++) {
            float pi = p[po + i], gi = g[go + i];
            if (decays) {
                if (decoupled) pi *= decay;
                else gi += pi * wd;
            }
            float mi = m[mo + i] * b1 + gi * c1, vi = v[vo + i] * b2 + gi * gi * c2;
            p[po + i] = pi - mi / ((float) Math.sqrt(vi) / bc2 + eps) * stepSize;
            m[mo + i] = mi;
            v[vo + i] = vi;
        }
    }

    /** One row of layer norm: two passes (mean, then centred variance), then y = (x − m)·rstd·w + b in a third (nothing stored before it). */
    static void layerNormRow(float[] x, int xo, float[] w, float[] b, float[] y, int yo, int d, float eps,
                             float[] mean, float[] rstd, int row) {
        float m = sum(x, xo, d) / d;
        FloatVector mv = FloatVector.broadcast(S, m), acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(d);
        for (; i < bound; i += L) {
            FloatVector c = FloatVector.fromArray(S, x, xo + i).sub(mv);
            acc = c.fma(c, acc);
        }
        float q = 0;
        for (float v : acc.toArray()) q += v;
        for (; i < d; i++) q += (x[xo + i] - m) * (x[xo + i] - m);
        float rs = (float) (1 / Math.sqrt(q / d + eps));
        mean[row] = m;
        rstd[row] = rs;
        FloatVector rv = FloatVector.broadcast(S, rs);
        for (i = 0; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv);
            if (w != null) v = v.mul(FloatVector.fromArray(S, w, i));
            if (b != null) v = v.add(FloatVector.fromArray(S, b, i));
            v.intoArray(y, yo + i);
        }
        for (; i < d; i++) {
            float v = (x[xo + i] - m) * rs;
            if (w != null) v *= w[i];
            if (b != null) v += b[i];
            y[yo + i] = v;
        }
    }

    /**
     * One row of the layer-norm backward in two passes: the first writes x̂ and g = dy·w to scratch
     * ([0, d) and [d, 2d)) while it sums g and g·x̂ and adds dy·x̂ and dy to the weight and bias
     * partials (pw, pb; null: no affine gradients), the second writes dx = rstd·(g − mean(g) − x̂·mean(g·x̂)).
     * Seven passes over the row before (one per primitive step) cost twice the time.
     */
    static void layerNormBackwardRow(float[] dy, int go, float[] x, int xo, float[] w, float m, float rs, float[] dx, int dxo,
                                     int d, float[] scratch, float[] pw, int pwo, float[] pb, int pbo) {
        FloatVector mv = FloatVector.broadcast(S, m), rv = FloatVector.broadcast(S, rs), sgAcc = FloatVector.zero(S), sgxAcc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(d);
        for (; i < bound; i += L) {
            FloatVector gy = FloatVector.fromArray(S, dy, go + i), xh = FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv);
            FloatVector g = w == null ? gy : gy.mul(FloatVector.fromArray(S, w, i));
            xh.intoArray(scratch, i);
            g.intoArray(scratch, d + i);
            sgAcc = sgAcc.add(g);
            sgxAcc = g.fma(xh, sgxAcc);
            if (pw != null) {
                gy.fma(xh, FloatVector.fromArray(S, pw, pwo + i)).intoArray(pw, pwo + i);
                gy.add(FloatVector.fromArray(S, pb, pbo + i)).intoArray(pb, pbo + i);
            }
        }
        float sg = 0, sgx = 0;
        for (float v : sgAcc.toArray()) sg += v;
        for (float v : sgxAcc.toArray()) sgx += v;
        for (; i < d; i++) {
            float gy = dy[go + i], xh = (x[xo + i] - m) * rs, g = w == null ? gy : gy * w[i];
            scratch[i] = xh;
            scratch[d + i] = g;
            sg += g;
            sgx += g * xh;
            if (pw != null) {
                pw[pwo + i] = Math.fma(gy, xh, pw[pwo + i]);
                pb[pbo + i] += gy;
            }
        }
        sg /= d;
        sgx /= d;
        FloatVector sgv = FloatVector.broadcast(S, sg), sgxv = FloatVector.broadcast(S, sgx);
        for (i = 0; i < bound; i += L) {
            FloatVector xh = FloatVector.fromArray(S, scratch, i), g = FloatVector.fromArray(S, scratch, d + i);
            g.sub(sgv).sub(xh.mul(sgxv)).mul(rv).intoArray(dx, dxo + i);
        }
        for (; i < d; i++) dx[dxo + i] = (scratch[d + i] - sg - scratch[i] * sgx) * rs;
    }

    /** One row of the softmax backward: dx = y·(g − Σ g·y), or for log-softmax dx = g − e^y·Σ g. */
    static void softmaxBackwardRow(float[] y, int yo, float[] g, int go, float[] dx, int dxo, int c, boolean log) {
        if (log) {
            float s = sum(g, go, c);
            map(UnaryOps.EXP, y, yo, dx, dxo, c);
            zipScalar(BinaryOps.Fn.MUL, dx, dxo, s, dx, dxo, c);
            zip(BinaryOps.Fn.SUB, g, go, dx, dxo, dx, dxo, c);
        } else {
            zip(BinaryOps.Fn.MUL, g, go, y, yo, dx, dxo, c);
            float s = sum(dx, dxo, c);
            zipScalar(BinaryOps.Fn.SUB, g, go, s, dx, dxo, c);
            zip(BinaryOps.Fn.MUL, dx, dxo, y, yo, dx, dxo, c);
        }
    }

    /** Softmax (or log-softmax) of one row of c elements: y = exp(x − max) / Σ, or x − max − log Σ. */
    static void softmaxRow(float[] x, int xo, float[] y, int yo, int c, boolean log) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) m = Math.max(m, x[xo + i]);
        if (Float.isInfinite(m)) m = 0; // a row of −inf: subtract nothing
        zipScalar(BinaryOps.Fn.SUB, x, xo, m, y, yo, c);
        map(UnaryOps.EXP, y, yo, y, yo, c);                            // y = e^(x − m)
        float s = sum(y, yo, c);
        if (log) { // rewritten from x, no scratch row; (x − m) − log s keeps near-zero outputs accurate
            zipScalar(BinaryOps.Fn.SUB, x, xo, m, y, yo, c);
            zipScalar(BinaryOps.Fn.SUB, y, yo, (float) Math.log(s), y, yo, c);
        } else {
            zipScalar(BinaryOps.Fn.MUL, y, yo, 1f / s, y, yo, c);
        }
    }

    /** log Σ e^x over a row (max-shifted); scratch holds e^(x − m) afterwards. */
    static float logSumExpRow(float[] x, int xo, float[] scratch, int c) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) m = Math.max(m, x[xo + i]);
        if (Float.isInfinite(m)) m = 0;
        zipScalar(BinaryOps.Fn.SUB, x, xo, m, scratch, 0, c);
        mapExp(scratch, 0, scratch, 0, c);
        return m + (float) Math.log(sum(scratch, 0, c));
    }

    /** dx[j] = g·(e^(x[j] − lse) − off) over a row; the target's −g·(1−ε) is added by the caller. */
    static void crossEntropyBackwardRow(float[] x, int xo, float lse, float g, float off, float[] dx, int dxo, int c) {
        zipScalar(BinaryOps.Fn.SUB, x, xo, lse, dx, dxo, c);
        mapExp(dx, dxo, dx, dxo, c);
        FloatVector gv = FloatVector.broadcast(S, g), ov = FloatVector.broadcast(S, off);
        int i = 0, bound = S.loopBound(c);
        for (; i < bound; i += L) FloatVector.fromArray(S, dx, dxo + i).sub(ov).mul(gv).intoArray(dx, dxo + i);
        for (; i < c; i++) dx[dxo + i] = (dx[dxo + i] - off) * g;
    }
}
