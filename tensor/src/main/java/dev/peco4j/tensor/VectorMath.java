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
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorMath() {}

    static boolean hasVectorForm(BinaryOps.Fn fn) {
        return switch (fn) {
            case ADD, SUB, MUL, DIV, MINIMUM, MAXIMUM -> true;
            default -> false;
        };
    }

    private static FloatVector apply(BinaryOps.Fn fn, FloatVector a, FloatVector b) {
        return switch (fn) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case MINIMUM -> a.min(b);
            case MAXIMUM -> a.max(b);
            default -> throw new IllegalStateException(fn + " has no vector form");
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

    /** y[yo+i] = fn(a[ao+i], b[bo+i]) for i < n. IEEE basic ops: scalar and vector lanes agree exactly. */
    static void zip(BinaryOps.Fn fn, float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            apply(fn, FloatVector.fromArray(S, a, ao + i), FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = apply(fn, a[ao + i], b[bo + i]);
    }

    /** y[yo+i] = fn(a[ao+i], v). */
    static void zipScalar(BinaryOps.Fn fn, float[] a, int ao, float v, float[] y, int yo, int n) {
        FloatVector bv = FloatVector.broadcast(S, v);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) apply(fn, FloatVector.fromArray(S, a, ao + i), bv).intoArray(y, yo + i);
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
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) apply(fn, FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        if (i < n) { // the tail through a padded buffer: same formula as the lanes
            float[] pad = new float[L];
            System.arraycopy(x, xo + i, pad, 0, n - i);
            apply(fn, FloatVector.fromArray(S, pad, 0)).intoArray(pad, 0);
            System.arraycopy(pad, 0, y, yo + i, n - i);
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
        return x.mul(0.5f).mul(erfc);
    }

    /**
     * e^x for float lanes (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial,
     * 2^n from the exponent bits. About 2 ulp; 0 below −87.33 (no subnormals), ∞ above 88.72.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(-87.33654f).min(88.72283f);
        FloatVector fx = xc.mul(1.44269504088896341f).add(0.5f);
        FloatVector t = fx.convert(VectorOperators.F2I, 0).reinterpretAsInts().convert(VectorOperators.I2F, 0).reinterpretAsFloats();
        FloatVector n = t.sub(1f, t.compare(VectorOperators.GT, fx));                       // floor(fx)
        FloatVector r = n.fma(FloatVector.broadcast(S, -0.693359375f), xc);
        r = n.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, 1.9875691500e-4f), FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        FloatVector pow2 = n.convert(VectorOperators.F2I, 0).reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        y = y.mul(pow2);
        y = y.blend(0f, x.compare(VectorOperators.LT, -87.33654f));
        y = y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, 88.72283f));
        return y.blend(x, x.compare(VectorOperators.NE, x));                                 // NaN stays NaN
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

    /** dst[doff+i] += src[so+i]. */
    static void addInto(float[] src, int so, float[] dst, int doff, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, dst, doff + i).add(FloatVector.fromArray(S, src, so + i)).intoArray(dst, doff + i);
        }
        for (; i < n; i++) dst[doff + i] += src[so + i];
    }

    /** Softmax (or log-softmax) of one row of c elements: y = exp(x − max) / Σ, or x − max − log Σ. */
    static void softmaxRow(float[] x, int xo, float[] y, int yo, int c, boolean log) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) m = Math.max(m, x[xo + i]);
        if (Float.isInfinite(m)) m = 0; // a row of −inf: subtract nothing
        zipScalar(BinaryOps.Fn.SUB, x, xo, m, y, yo, c);
        if (log) {
            float[] e = new float[c];
            map(UnaryOps.EXP, y, yo, e, 0, c);
            float logZ = (float) Math.log(sum(e, 0, c));
            zipScalar(BinaryOps.Fn.SUB, y, yo, logZ, y, yo, c);
        } else {
            map(UnaryOps.EXP, y, yo, y, yo, c);
            zipScalar(BinaryOps.Fn.MUL, y, yo, 1f / sum(y, yo, c), y, yo, c);
        }
    }
}
