package dev.peco4j.tensor;

import jdk.incubator.vector.FloatVector;

/**
 * Group norm's kernels, the reference (double) and the Vector API one side by side, each way.
 * Letters: N batch, C channels, G groups, Cg = C/G channels per group, S spatial positions (the
 * product of the dims after C), D = Cg·S the elements of one (n, g) row.
 *
 * <p>y = (x − mean)·rstd·w[c] + b[c] with mean and rstd = 1/√(var + eps) (biased variance) over each
 * (n, g) row, then the per-channel affine. Fused because the composed form (the layer-norm kernel on
 * (N, G, D), then a broadcast multiply and add, whose gradients are two more reductions over N and S)
 * spent more time in broadcasting copies and reductions than in the normalization: the tokenizer's
 * ResnetBlocks run two group norms per block.
 *
 * <p>The weight and bias gradients sum per (n, c) first, then over n in order, so the vector kernel
 * gives the same bits for any thread count.
 */
final class GroupNormKernels {
    private GroupNormKernels() {}

    private record Geo(int n, int c, int groups, int s) {
        static Geo of(Tensor x, int groups) {
            int n = x.size(0), c = x.size(1);
            return new Geo(n, c, groups, n * c == 0 ? 0 : x.numel() / (n * c));
        }

        int cg() { return c / groups; }
        int d() { return cg() * s; }
        int rows() { return n * groups; }
        /** The channel of plane j of row r. */
        int channel(int r, int j) { return (r % groups) * cg() + j; }
    }

    // ------------------------------------------------------------------ reference

    /** {y, mean (N·G), rstd (N·G)}; w and b (C) may be null. */
    static Tensor[] reference(Tensor x, Tensor w, Tensor b, int groups, double eps) {
        Geo s = Geo.of(x, groups);
        double[] v = x.toDoubleArray(), ws = w == null ? null : w.toDoubleArray(), bs = b == null ? null : b.toDoubleArray();
        int d = s.d();
        double[] mean = new double[s.rows()], rstd = new double[s.rows()];
        for (int r = 0; r < s.rows(); r++) {
            double m = 0, q = 0;
            for (int i = 0; i < d; i++) m += v[r * d + i];
            m /= d;
            for (int i = 0; i < d; i++) q += (v[r * d + i] - m) * (v[r * d + i] - m);
            double rs = 1 / Math.sqrt(q / d + eps);
            mean[r] = m;
            rstd[r] = rs;
            for (int i = 0; i < d; i++) {
                int ch = s.channel(r, i / s.s());
                v[r * d + i] = (v[r * d + i] - m) * rs * (ws == null ? 1 : ws[ch]) + (bs == null ? 0 : bs[ch]);
            }
        }
        return new Tensor[] {Tensor.fromDoubles(x.dtype(), x.shape(), v), Tensor.fromDoubles(x.dtype(), Shape.of(s.rows()), mean),
            Tensor.fromDoubles(x.dtype(), Shape.of(s.rows()), rstd)};
    }

    /** {dx, dw, db} from dy and the saved mean and rstd; dw is null without w, db null without b. */
    static Tensor[] referenceBackward(Tensor dy, Tensor x, Tensor w, Tensor b, Tensor mean, Tensor rstd, int groups) {
        Geo s = Geo.of(x, groups);
        double[] g = dy.toDoubleArray(), v = x.toDoubleArray(), ws = w == null ? null : w.toDoubleArray();
        double[] ms = mean.toDoubleArray(), rs = rstd.toDoubleArray();
        int d = s.d();
        double[] dx = new double[v.length], dw = new double[s.c()], db = new double[s.c()];
        for (int r = 0; r < s.rows(); r++) {
            double sg = 0, sgx = 0;
            for (int i = 0; i < d; i++) {
                int k = r * d + i, ch = s.channel(r, i / s.s());
                double xhat = (v[k] - ms[r]) * rs[r], gw = g[k] * (ws == null ? 1 : ws[ch]);
                sg += gw;
                sgx += gw * xhat;
                dw[ch] += g[k] * xhat;
                db[ch] += g[k];
            }
            for (int i = 0; i < d; i++) {
                int k = r * d + i, ch = s.channel(r, i / s.s());
                double xhat = (v[k] - ms[r]) * rs[r], gw = g[k] * (ws == null ? 1 : ws[ch]);
                dx[k] = rs[r] * (gw - sg / d - xhat * sgx / d);
            }
        }
        return new Tensor[] {Tensor.fromDoubles(x.dtype(), x.shape(), dx), w == null ? null : Tensor.fromDoubles(w.dtype(), w.shape(), dw),
            b == null ? null : Tensor.fromDoubles(b.dtype(), b.shape(), db)};
    }

    // ------------------------------------------------------------------ Vector API


    /** Rows of at least this many elements per thread chunk. */
    private static final int GRAIN = 1 << 14;

    /** The float32 forward: each row normalized by the layer-norm row kernel, then each channel plane scaled and shifted in place. */
    static Tensor[] vector(Tensor xt, Tensor wt, Tensor bt, int groups, double eps, Parallel par) {
        Geo s = Geo.of(xt, groups);
        float[] x = xt.contiguousData(), w = wt == null ? null : wt.contiguousData(), b = bt == null ? null : bt.contiguousData();
        int d = s.d(), plane = s.s();
        float[] y = new float[xt.numel()], mean = new float[s.rows()], rstd = new float[s.rows()];
        par.forRange(s.rows(), Math.max(1, GRAIN / Math.max(1, d)), (from, to) -> {
            for (int r = from; r < to; r++) {
                VectorMath.layerNormRow(x, r * d, null, null, y, r * d, d, (float) eps, mean, rstd, r);
                if (w == null && b == null) continue;
                for (int j = 0; j < s.cg(); j++) {
                    int ch = s.channel(r, j);
                    scaleShift(y, r * d + j * plane, plane, w == null ? 1f : w[ch], b == null ? 0f : b[ch]);
                }
            }
        });
        return new Tensor[] {out(xt.shape(), y), out(Shape.of(s.rows()), mean), out(Shape.of(s.rows()), rstd)};
    }

    /** The float32 backward: per row x̂ and g = dy·w[c] into scratch, dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dw, db per (n, c), then over n in order. */
    static Tensor[] vectorBackward(Tensor dyt, Tensor xt, Tensor wt, Tensor bt, Tensor meant, Tensor rstdt, int groups, Parallel par) {
        Geo s = Geo.of(xt, groups);
        float[] dy = dyt.contiguousData(), x = xt.contiguousData(), w = wt == null ? null : wt.contiguousData();
        float[] ms = meant.contiguousData(), rs = rstdt.contiguousData();
        int d = s.d(), plane = s.s(), c = s.c();
        float[] dx = new float[xt.numel()], pw = new float[s.n() * c], pb = new float[s.n() * c];
        par.forRange(s.rows(), Math.max(1, GRAIN / Math.max(1, d)), (from, to) -> {
            float[] scratch = new float[2 * d];                                      // [0, D) x̂, [D, 2D) g
            for (int r = from; r < to; r++) {
                int base = r * d, n = r / groups;
                normalize(x, base, ms[r], rs[r], scratch, d);
                for (int j = 0; j < s.cg(); j++) {
                    int ch = s.channel(r, j), off = j * plane;
                    pw[n * c + ch] = VectorMath.dot(dy, base + off, scratch, off, plane);
                    pb[n * c + ch] = VectorMath.sum(dy, base + off, plane);
                    if (w != null) VectorMath.scale(dy, base + off, w[ch], scratch, d + off, plane);
                    else System.arraycopy(dy, base + off, scratch, d + off, plane);
                }
                float sg = VectorMath.sum(scratch, d, d) / d, sgx = VectorMath.dot(scratch, d, scratch, 0, d) / d, rr = rs[r];
                FloatVector sgv = FloatVector.broadcast(VectorMath.S, sg), sgxv = FloatVector.broadcast(VectorMath.S, sgx);
                FloatVector rv = FloatVector.broadcast(VectorMath.S, rr);
                int i = 0, bound = VectorMath.S.loopBound(d);
                for (; i < bound; i += VectorMath.L) {
                    FloatVector xh = FloatVector.fromArray(VectorMath.S, scratch, i), g = FloatVector.fromArray(VectorMath.S, scratch, d + i);
                    g.sub(sgv).sub(xh.mul(sgxv)).mul(rv).intoArray(dx, base + i);
                }
                for (; i < d; i++) dx[base + i] = (scratch[d + i] - sg - scratch[i] * sgx) * rr;
            }
        });
        Tensor dw = null, db = null;
        if (wt != null) dw = out(wt.shape(), sumOverBatch(pw, s.n(), c));
        if (bt != null) db = out(bt.shape(), sumOverBatch(pb, s.n(), c));
        return new Tensor[] {out(xt.shape(), dx), dw, db};
    }

    /** Σ_n partial[n·C + c], images added in order. */
    private static float[] sumOverBatch(float[] partial, int n, int c) {
        float[] t = new float[c];
        for (int i = 0; i < n; i++) VectorMath.addInto(partial, i * c, t, 0, c);
        return t;
    }

    /** x̂[i] = (x[xo + i] − m)·r over d elements, one pass (the bits of a subtraction pass and then a product pass). */
    private static void normalize(float[] x, int xo, float m, float r, float[] xh, int d) {
        FloatVector mv = FloatVector.broadcast(VectorMath.S, m), rv = FloatVector.broadcast(VectorMath.S, r);
        int i = 0, bound = VectorMath.S.loopBound(d);
        for (; i < bound; i += VectorMath.L) FloatVector.fromArray(VectorMath.S, x, xo + i).sub(mv).mul(rv).intoArray(xh, i);
        for (; i < d; i++) xh[i] = (x[xo + i] - m) * r;
    }

    /** a[i] = a[i]·w + b over len elements from off. */
    private static void scaleShift(float[] a, int off, int len, float w, float b) {
        FloatVector wv = FloatVector.broadcast(VectorMath.S, w), bv = FloatVector.broadcast(VectorMath.S, b);
        int i = 0, bound = VectorMath.S.loopBound(len);
        for (; i < bound; i += VectorMath.L) FloatVector.fromArray(VectorMath.S, a, off + i).fma(wv, bv).intoArray(a, off + i);
        for (; i < len; i++) a[off + i] = Math.fma(a[off + i], w, b);
    }

    private static Tensor out(Shape s, float[] v) {
        return new Tensor(Storage.wrap(v), s, s.contiguousStrides(), 0);
    }
}
