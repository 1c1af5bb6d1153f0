package dev.peco4j.tensor;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast CPU backend: float32 kernels on the JDK Vector API, multi-threaded with a static
 * partition (bit-identical for any thread count). Whatever it does not speed up — other dtypes,
 * rare ops — goes to the {@link ScalarBackend} reference, which is also what every kernel here is
 * tested against. GEMM is in {@link Sgemm}, convolution in {@link VectorConv}.
 *
 * <p>Element loops use {@code loopBound}, whole-vector bodies and a scalar tail (no masks in hot
 * loops), as llama3.java does.
 */
final class VectorBackend implements Backend {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Elements per parallel chunk of elementwise work: below this, threads cost more than they save. */
    private static final int GRAIN = 1 << 15;

    private final ScalarBackend ref = ScalarBackend.INSTANCE;
    final Parallel par;

    VectorBackend(int threads) {
        this.par = new Parallel(threads);
    }

    @Override
    public String name() {
        return "vector (" + S.vectorBitSize() + "-bit, " + L + " float lanes, " + par.threads() + " threads)";
    }

    private static boolean f32(Tensor... ts) {
        for (Tensor t : ts) if (t.dtype() != DType.FLOAT32) return false;
        return true;
    }

    /** The elements of a float32 tensor, row-major, without copying when it is contiguous. */
    private record Floats(float[] a, int off) {}

    private Floats floats(Tensor x) {
        if (x.isContiguous()) return new Floats(x.storage.f, x.offset());
        return new Floats(gather(x), 0);
    }

    private static Tensor out(Shape s, float[] v) {
        return new Tensor(Storage.wrap(v), s, s.contiguousStrides(), 0);
    }

    /** A strided float32 view copied to a new row-major array, innermost dim in a tight loop. */
    private float[] gather(Tensor x) {
        int n = x.numel(), inner = innerSize(x);
        float[] dst = new float[n];
        if (n == 0) return dst;
        copyRuns(x, dst, null, 1);
        return dst;
    }

    private static int innerSize(Tensor x) {
        return x.dim() == 0 ? 1 : x.size(-1);
    }

    /** The storage offset of each innermost run (row) of a view, in row-major order. */
    private static int[] rowStarts(Tensor x) {
        int r = x.dim();
        return Tensor.offsets(r == 0 ? Shape.scalar() : Shape.of(Arrays.copyOf(x.shape().dims(), r - 1)),
                r == 0 ? new int[0] : Arrays.copyOf(x.strides(), r - 1), x.offset());
    }

    /** Row k of the float32 view src into dst from dstStarts[k] (null: from k·rowLength), its elements dstStride apart. */
    private void copyRuns(Tensor src, float[] dst, int[] dstStarts, int dstStride) {
        int inner = innerSize(src), ss = src.dim() == 0 ? 0 : src.strides()[src.dim() - 1];
        int[] srcStarts = rowStarts(src);
        float[] from = src.storage.f;
        par.forRange(srcStarts.length, Math.max(1, GRAIN / inner), (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int a = srcStarts[row], b = dstStarts == null ? row * inner : dstStarts[row];
                if (ss == 1 && dstStride == 1) System.arraycopy(from, a, dst, b, inner);
                else for (int j = 0; j < inner; j++) dst[b + j * dstStride] = from[a + j * ss];
            }
        });
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public Tensor map(UnaryOps.Fn fn, Tensor x) {
        if (!f32(x)) return ref.map(fn, x);
        Floats in = floats(x);
        int n = x.numel();
        float[] y = new float[n];
        par.forRange(n, GRAIN, (from, to) -> VectorMath.map(fn, in.a(), in.off() + from, y, from, to - from));
        return out(x.shape(), y);
    }

    @Override
    public Tensor mapBackward(UnaryOps.Fn fn, Tensor x, Tensor y, Tensor g) {
        if (!f32(x, y, g)) return ref.mapBackward(fn, x, y, g);
        Floats xs = floats(x), ys = floats(y), gs = floats(g);
        int n = x.numel();
        float[] dx = new float[n];
        par.forRange(n, GRAIN, (from, to) -> VectorMath.mapBackward(fn, xs.a(), xs.off() + from, ys.a(), ys.off() + from,
                gs.a(), gs.off() + from, dx, from, to - from));
        return out(x.shape(), dx);
    }

    @Override
    public Tensor zip(BinaryOps.Fn fn, Tensor a, Tensor b, DType outType) {
        if (!f32(a, b) || outType != DType.FLOAT32 || !VectorMath.hasVectorForm(fn)) return ref.zip(fn, a, b, outType);
        Shape s = Shape.broadcast(a.shape(), b.shape(), fn.name().toLowerCase());
        int n = s.numel();
        float[] y = new float[n];
        Tensor ea = a.shape().equals(s) ? a : a.expand(s.dims()), eb = b.shape().equals(s) ? b : b.expand(s.dims());
        if (b.numel() == 1) { // tensor ∘ scalar
            Floats fa = floats(ea);
            float v = b.storage.f[b.offset()];
            par.forRange(n, GRAIN, (from, to) -> VectorMath.zipScalar(fn, fa.a(), fa.off() + from, v, y, from, to - from));
            return out(s, y);
        }
        int inner = s.rank() == 0 ? 1 : s.dim(-1);
        if (a.shape().equals(s) && a.isContiguous() && b.dim() >= 1 && b.numel() == inner && b.size(-1) == inner
                && b.isContiguous()) { // (…, C) ∘ (C): a row broadcast over leading dims, as a bias
            float[] aa = a.storage.f, bb = b.storage.f;
            int ao = a.offset(), bo = b.offset(), rows = n / Math.max(1, inner);
            par.forRange(rows, Math.max(1, GRAIN / Math.max(1, inner)), (from, to) -> {
                for (int r = from; r < to; r++) VectorMath.zip(fn, aa, ao + r * inner, bb, bo, y, r * inner, inner);
            });
            return out(s, y);
        }
        int axis = onlyAxis(b.shape(), s);
        if (a.shape().equals(s) && a.isContiguous() && b.isContiguous() && axis >= 0) {
            // (N, C, H, W) ∘ (1, C, 1, 1): one value of b per run of the trailing dims, as a conv bias or a channel scale;
            // broadcasting b to the full shape first cost a gather as large as the output
            int c = s.dim(axis), run = n / Math.max(1, Shape.of(Arrays.copyOf(s.dims(), axis + 1)).numel());
            float[] aa = a.storage.f, bb = b.storage.f;
            int ao = a.offset(), bo = b.offset();
            par.forRange(n / Math.max(1, run), Math.max(1, GRAIN / Math.max(1, run)), (from, to) -> {
                for (int r = from; r < to; r++) VectorMath.zipScalar(fn, aa, ao + r * run, bb[bo + r % c], y, r * run, run);
            });
            return out(s, y);
        }
        Floats fa = floats(ea), fb = floats(eb);
        par.forRange(n, GRAIN, (from, to) -> VectorMath.zip(fn, fa.a(), fa.off() + from, fb.a(), fb.off() + from, y, from, to - from));
        return out(s, y);
    }

    /**
     * The one axis (counted in s, before the last) along which b, aligned to the right of s, varies,
     * with every other dim of b 1; -1 when b has another shape.
     */
    private static int onlyAxis(Shape b, Shape s) {
        int axis = -1, shift = s.rank() - b.rank();
        for (int d = 0; d < b.rank(); d++) {
            if (b.dim(d) == 1) continue;
            if (axis >= 0 || b.dim(d) != s.dim(d + shift)) return -1;
            axis = d + shift;
        }
        return axis < s.rank() - 1 ? axis : -1;
    }

    @Override
    public Tensor copy(Tensor x, DType dtype) {
        if (!f32(x) || dtype != DType.FLOAT32) return ref.copy(x, dtype);
        if (x.isContiguous()) return out(x.shape(), Arrays.copyOfRange(x.storage.f, x.offset(), x.offset() + x.numel()));
        return out(x.shape(), gather(x));
    }

    @Override
    public void addInto(Tensor dst, Tensor src) {
        if (!f32(dst, src) || !dst.isContiguous()) {
            Backend.super.addInto(dst, src);
            return;
        }
        Floats f = floats(src);
        float[] d = dst.storage.f;
        int off = dst.offset();
        par.forRange(dst.numel(), GRAIN, (from, to) -> VectorMath.zip(BinaryOps.Fn.ADD, d, off + from, f.a(), f.off() + from, d, off + from, to - from));
    }

    @Override
    public void copyInto(Tensor dst, Tensor src) {
        if (!f32(dst, src)) {
            ref.copyInto(dst, src);
            return;
        }
        Tensor e = src.shape().equals(dst.shape()) ? src : src.expand(dst.shape().dims());
        if (dst.isContiguous()) {
            Floats f = floats(e);
            System.arraycopy(f.a(), f.off(), dst.storage.f, dst.offset(), dst.numel());
        } else if (dst.numel() > 0) { // into a view (a slice of a cat's output, a slice's gradient): row by row
            if (dst.storage == e.storage) e = out(e.shape(), gather(e)); // the source may overlap the view
            copyRuns(e, dst.storage.f, rowStarts(dst), dst.dim() == 0 ? 1 : dst.strides()[dst.dim() - 1]);
        }
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public Tensor sum(Tensor x, int[] dims) {
        if (!f32(x) || x.dim() == 0) return ref.sum(x, dims);
        int r = x.dim();
        boolean lastOnly = dims.length == 1 && dims[0] == r - 1;
        boolean leading = dims.length > 0 && dims[dims.length - 1] == dims.length - 1; // dims 0..j-1
        Floats f = floats(x);
        int[] keep = x.shape().dims();
        for (int d : dims) keep[d] = 1;
        Shape os = Shape.of(keep);
        if (lastOnly) { // row sums: (R, C) → (R, 1); each row summed by one thread, in order
            int c = x.size(-1), rows = x.numel() / Math.max(1, c);
            float[] y = new float[rows];
            par.forRange(rows, Math.max(1, GRAIN / Math.max(1, c)), (from, to) -> {
                for (int row = from; row < to; row++) y[row] = VectorMath.sum(f.a(), f.off() + row * c, c);
            });
            return out(os, y);
        }
        if (leading) { // column sums: (R, C) → (1, C), rows added in order
            int c = 1;
            for (int d = dims.length; d < r; d++) c *= x.size(d);
            int rows = x.numel() / Math.max(1, c), cols = c;
            float[] y = new float[c];
            par.forRange(cols, Math.max(L, GRAIN / Math.max(1, rows)), (from, to) -> {
                for (int row = 0; row < rows; row++) VectorMath.addInto(f.a(), f.off() + row * cols + from, y, from, to - from);
            });
            return out(os, y);
        }
        int trailing = 0; // reduced trailing dims, e.g. (N, C, H, W) over {0, 2, 3}: a per-channel affine's gradient
        while (trailing < r && contains(dims, r - 1 - trailing)) trailing++;
        if (trailing > 0 && x.numel() > 0) {
            int[] strides = x.shape().contiguousStrides(), kept = new int[r - trailing], keptStrides = new int[r - trailing];
            int[] reduced = new int[r - trailing], reducedStrides = new int[r - trailing];
            int run = Shape.of(Arrays.copyOfRange(x.shape().dims(), r - trailing, r)).numel(); // the contiguous reduced tail
            for (int d = 0; d < r - trailing; d++) {
                boolean red = contains(dims, d);
                kept[d] = red ? 1 : x.size(d);
                keptStrides[d] = red ? 0 : strides[d];
                reduced[d] = red ? x.size(d) : 1;
                reducedStrides[d] = red ? strides[d] : 0;
            }
            int[] outAt = Tensor.offsets(Shape.of(kept), keptStrides, f.off()), runAt = Tensor.offsets(Shape.of(reduced), reducedStrides, 0);
            float[] y = new float[outAt.length];
            // each output: its runs summed in row-major order by one thread, so any thread count gives the same bits
            par.forRange(y.length, Math.max(1, GRAIN / Math.max(1, x.numel() / y.length)), (from, to) -> {
                for (int o = from; o < to; o++) {
                    double acc = 0;
                    for (int at : runAt) acc += VectorMath.sum(f.a(), outAt[o] + at, run);
                    y[o] = (float) acc;
                }
            });
            return out(os, y);
        }
        return ref.sum(x, dims);
    }

    private static boolean contains(int[] dims, int d) {
        for (int x : dims) if (x == d) return true;
        return false;
    }

    @Override
    public Tensor softmax(Tensor x, int dim, boolean log) {
        if (!f32(x) || dim != x.dim() - 1) return ref.softmax(x, dim, log);
        Floats f = floats(x);
        int c = x.size(-1), rows = x.numel() / Math.max(1, c);
        float[] y = new float[x.numel()];
        par.forRange(rows, Math.max(1, GRAIN / Math.max(1, c)), (from, to) -> {
            for (int row = from; row < to; row++) VectorMath.softmaxRow(f.a(), f.off() + row * c, y, row * c, c, log);
        });
        return out(x.shape(), y);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor g, int dim, boolean log) {
        if (!f32(y, g) || dim != y.dim() - 1) return ref.softmaxBackward(y, g, dim, log);
        Floats fy = floats(y), fg = floats(g);
        int c = y.size(-1), rows = y.numel() / Math.max(1, c);
        float[] dx = new float[y.numel()];
        par.forRange(rows, Math.max(1, GRAIN / Math.max(1, c)), (from, to) -> {
            for (int row = from; row < to; row++) {
                VectorMath.softmaxBackwardRow(fy.a(), fy.off() + row * c, fg.a(), fg.off() + row * c, dx, row * c, c, log);
            }
        });
        return out(y.shape(), dx);
    }

    @Override
    public Tensor[] crossEntropy(Tensor x, Tensor targets, double smoothing, int ignore) {
        if (!f32(x)) return ref.crossEntropy(x, targets, smoothing, ignore);
        int[] target = targets.toIntArray();
        Floats f = floats(x);
        int c = x.size(1), m = target.length;
        float[] loss = new float[m], lse = new float[m];
        par.forRange(m, Math.max(1, GRAIN / Math.max(1, c)), (from, to) -> {
            float[] scratch = new float[c];
            for (int r = from; r < to; r++) {
                int xo = f.off() + r * c;
                float l = VectorMath.logSumExpRow(f.a(), xo, scratch, c);
                lse[r] = l;
                if (target[r] != ignore) {
                    float mean = VectorMath.sum(f.a(), xo, c) / c;
                    loss[r] = (float) (l - (1 - smoothing) * f.a()[xo + target[r]] - smoothing * mean);
                }
            }
        });
        return new Tensor[] {out(Shape.of(m), loss), out(Shape.of(m), lse)};
    }

    @Override
    public Tensor crossEntropyBackward(Tensor x, Tensor lse, Tensor targets, Tensor g, double smoothing, int ignore) {
        if (!f32(x, lse, g)) return ref.crossEntropyBackward(x, lse, targets, g, smoothing, ignore);
        int[] target = targets.toIntArray();
        Floats f = floats(x);
        float[] l = lse.contiguousData(), gs = g.contiguousData();
        int c = x.size(1), m = target.length;
        float[] dx = new float[x.numel()];
        float off = (float) (smoothing / c), hit = (float) (1 - smoothing);
        par.forRange(m, Math.max(1, GRAIN / Math.max(1, c)), (from, to) -> {
            for (int r = from; r < to; r++) {
                if (target[r] == ignore) continue;
                VectorMath.crossEntropyBackwardRow(f.a(), f.off() + r * c, l[r], gs[r], off, dx, r * c, c);
                dx[r * c + target[r]] -= gs[r] * hit;
            }
        });
        return out(x.shape(), dx);
    }

    // ------------------------------------------------------------------ normalization

    /** Along the last dim, row by row (a classifier's or MIM's predictions); any other dim takes the reference. */
    @Override
    public Tensor argmax(Tensor x, int dim, boolean min) {
        if (!f32(x) || dim != x.dim() - 1 || x.size(dim) == 0) return ref.argmax(x, dim, min);
        int cols = x.size(dim), rows = x.numel() / cols;
        Floats fx = floats(x);
        int[] arg = new int[rows];
        par.forRange(rows, Math.max(1, GRAIN / cols), (from, to) -> {
            for (int r = from; r < to; r++) arg[r] = VectorMath.argExtreme(fx.a(), fx.off() + r * cols, cols, min);
        });
        int[] dims = x.shape().dims();
        dims[dim] = 1;
        Shape out = Shape.of(dims);
        return new Tensor(Storage.wrap(DType.INT32, arg), out, out.contiguousStrides(), 0);
    }

    @Override
    public Tensor nearestRows(Tensor z, Tensor codes, Tensor zz, Tensor ee) {
        return VectorNearest.applies(z, codes, zz, ee) ? VectorNearest.nearestRows(z, codes, zz, ee, par)
                : Backend.super.nearestRows(z, codes, zz, ee);
    }

    @Override
    public Tensor[] layerNorm(Tensor x, Tensor w, Tensor b, int d, double eps) {
        if (!f32(x) || (w != null && !f32(w)) || (b != null && !f32(b))) return ref.layerNorm(x, w, b, d, eps);
        Floats fx = floats(x);
        float[] ws = w == null ? null : w.contiguousData(), bs = b == null ? null : b.contiguousData();
        int rows = x.numel() / Math.max(1, d);
        float[] y = new float[x.numel()], mean = new float[rows], rstd = new float[rows];
        par.forRange(rows, Math.max(1, GRAIN / Math.max(1, d)), (from, to) -> {
            for (int r = from; r < to; r++) VectorMath.layerNormRow(fx.a(), fx.off() + r * d, ws, bs, y, r * d, d, (float) eps, mean, rstd, r);
        });
        return new Tensor[] {out(x.shape(), y), out(Shape.of(rows), mean), out(Shape.of(rows), rstd)};
    }

    @Override
    public Tensor[] groupNorm(Tensor x, Tensor w, Tensor b, int groups, double eps) {
        if (!f32(x) || (w != null && !f32(w)) || (b != null && !f32(b))) return ref.groupNorm(x, w, b, groups, eps);
        return GroupNormKernels.vector(x, w, b, groups, eps, par);
    }

    @Override
    public Tensor[] groupNormBackward(Tensor dy, Tensor x, Tensor w, Tensor b, Tensor mean, Tensor rstd, int groups) {
        if (!f32(dy, x, mean, rstd) || (w != null && !f32(w)) || (b != null && !f32(b))) return ref.groupNormBackward(dy, x, w, b, mean, rstd, groups);
        return GroupNormKernels.vectorBackward(dy, x, w, b, mean, rstd, groups, par);
    }

    /** Rows per partial sum of layer norm's weight and bias gradients (fixed, so results do not depend on threads). */
    private static final int LN_CHUNK = 64;

    @Override
    public Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, int d) {
        if (!f32(dy, x, mean, rstd) || (w != null && !f32(w))) return ref.layerNormBackward(dy, x, w, mean, rstd, d);
        Floats fg = floats(dy), fx = floats(x);
        float[] ws = w == null ? null : w.contiguousData(), ms = mean.contiguousData(), rs = rstd.contiguousData();
        int rows = x.numel() / Math.max(1, d);
        float[] dx = new float[x.numel()];
        if (w == null) {
            par.forRange(rows, Math.max(1, GRAIN / Math.max(1, d)), (from, to) -> {
                float[] scratch = new float[2 * d];
                for (int r = from; r < to; r++) {
                    VectorMath.layerNormBackwardRow(fg.a(), fg.off() + r * d, fx.a(), fx.off() + r * d, null, ms[r], rs[r], dx, r * d, d, scratch, null, 0, null, 0);
                }
            });
            return new Tensor[] {out(x.shape(), dx), null, null};
        }
        // One pass over dy and x: each fixed chunk of LN_CHUNK rows (the same for any thread count) adds its
        // rows' dw, db into its own partial sums, in row order; the partials are then added in chunk order.
        int chunks = (rows + LN_CHUNK - 1) / LN_CHUNK;
        float[] partial = new float[chunks * 2 * d];
        par.forRange(chunks, 1, (c0, c1) -> {
            float[] scratch = new float[2 * d];
            for (int c = c0; c < c1; c++) {
                int pw = c * 2 * d, pb = pw + d;
                for (int r = c * LN_CHUNK, end = Math.min(rows, r + LN_CHUNK); r < end; r++) {
                    VectorMath.layerNormBackwardRow(fg.a(), fg.off() + r * d, fx.a(), fx.off() + r * d, ws, ms[r], rs[r], dx, r * d, d, scratch,
                            partial, pw, partial, pb);
                }
            }
        });
        float[] dw = new float[d], db = new float[d];
        par.forRange(d, Math.max(L, GRAIN / Math.max(1, chunks)), (from, to) -> {
            for (int c = 0; c < chunks; c++) {
                VectorMath.addInto(partial, c * 2 * d + from, dw, from, to - from);
                VectorMath.addInto(partial, c * 2 * d + d + from, db, from, to - from);
            }
        });
        return new Tensor[] {out(x.shape(), dx), out(w.shape(), dw), out(w.shape(), db)};
    }

    // ------------------------------------------------------------------ attention

    @Override
    public Tensor[] sdpa(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scale) {
        if (!f32(q, k, v) || (bias != null && !f32(bias))) return ref.sdpa(q, k, v, bias, keyMask, scale);
        return VectorAttention.forward(q, k, v, bias, keyMask, scale, par);
    }

    @Override
    public Tensor[] sdpaBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, Tensor out,
                                 Tensor lse, double scale, boolean biasGrad) {
        if (!f32(dout, q, k, v, out, lse) || (bias != null && !f32(bias))) {
            return ref.sdpaBackward(dout, q, k, v, bias, keyMask, out, lse, scale, biasGrad);
        }
        return VectorAttention.backward(dout, q, k, v, bias, keyMask, out, lse, scale, biasGrad, par);
    }

    // ------------------------------------------------------------------ optimizer

    @Override
    public void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStep s) {
        if (!f32(p, g, m, v) || !p.isContiguous() || !m.isContiguous() || !v.isContiguous()) {
            ref.adamStep(p, g, m, v, s);
            return;
        }
        Floats fg = floats(g);
        float[] pa = p.storage.f, ma = m.storage.f, va = v.storage.f;
        int po = p.offset(), mo = m.offset(), vo = v.offset(), n = p.numel();
        par.forRange(n, GRAIN, (from, to) -> VectorMath.adamStep(pa, po + from, fg.a(), fg.off() + from, ma, mo + from,
                va, vo + from, to - from, s));
        p.storage.version++;
        m.storage.version++;
        v.storage.version++;
    }

    // ------------------------------------------------------------------ GEMM

    @Override
    public Tensor bmm(Tensor a, Tensor b) {
        if (!f32(a, b)) return ref.bmm(a, b);
        int batch = a.size(0), n = a.size(1), k = a.size(2), m = b.size(2);
        float[] c = new float[batch * n * m];
        int[] sa = a.strides(), sb = b.strides();
        if (batch < 2 * par.threads() && (long) n * m * k >= 1L << 18) {   // few, big products: threads inside each
            for (int p = 0; p < batch; p++) {
                Sgemm.gemm(n, m, k, new Sgemm.Mat(a.storage.f, a.offset() + p * sa[0], sa[1], sa[2]),
                        new Sgemm.Mat(b.storage.f, b.offset() + p * sb[0], sb[1], sb[2]), c, p * n * m, m, false, par);
            }
        } else { // many products (attention heads): whole products per thread
            par.forRange(batch, 1, (from, to) -> {
                for (int p = from; p < to; p++) {
                    Sgemm.gemm(n, m, k, new Sgemm.Mat(a.storage.f, a.offset() + p * sa[0], sa[1], sa[2]),
                            new Sgemm.Mat(b.storage.f, b.offset() + p * sb[0], sb[1], sb[2]), c, p * n * m, m, false, Parallel.SERIAL);
                }
            });
        }
        return out(Shape.of(batch, n, m), c);
    }

    @Override
    public Tensor[] linear(Tensor x, Tensor w, Tensor b, UnaryOps.Fn act) {
        if (!f32(x, w) || (b != null && !f32(b))) return ref.linear(x, w, b, act);
        int m = x.size(0), k = x.size(1), n = w.size(0);
        float[] z = new float[m * n], y = act == null ? z : new float[m * n];
        int[] sx = x.strides(), sw = w.strides();
        Sgemm.Epilogue ep = new Sgemm.Epilogue(b == null ? null : b.contiguousData(), act, act == null ? null : y);
        Sgemm.gemm(m, n, k, new Sgemm.Mat(x.storage.f, x.offset(), sx[0], sx[1]), new Sgemm.Mat(w.storage.f, w.offset(), sw[1], sw[0]),
                z, 0, n, false, par, ep);
        Shape s = Shape.of(m, n);
        return act == null ? new Tensor[] {out(s, z), null} : new Tensor[] {out(s, y), out(s, z)};
    }

    // ------------------------------------------------------------------ indexing

    @Override
    public Tensor indexSelect(Tensor x, int dim, Tensor index) {
        if (!f32(x)) return ref.indexSelect(x, dim, index);
        // rows copied straight from float storage: the reference converts the whole of x to doubles,
        // which made a batch of 256 rows out of 60,000 cost as much as reading all of them
        int[] idx = index.toIntArray();
        Shape shape = x.shape().with(dim, idx.length);
        Floats v = floats(x);
        float[] r = new float[shape.numel()];
        int inner = x.shape().contiguousStrides()[dim], size = x.size(dim), outer = x.numel() / Math.max(1, size * inner);
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < idx.length; j++) System.arraycopy(v.a(), v.off() + (o * size + idx[j]) * inner, r, (o * idx.length + j) * inner, inner);
        }
        return out(shape, r);
    }

    // ------------------------------------------------------------------ convolution and pooling

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        return f32(x, w) ? VectorConv.forward(x, w, p, par) : ref.conv2d(x, w, p);
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor g, Tensor w, Shape inputShape, Conv2dParams p) {
        return f32(g, w) ? VectorConv.backwardInput(g, w, inputShape, p, par) : ref.conv2dBackwardInput(g, w, inputShape, p);
    }

    @Override
    public Tensor conv2dBackwardWeight(Tensor g, Tensor x, Shape weightShape, Conv2dParams p) {
        return f32(g, x) ? VectorConv.backwardWeight(g, x, weightShape, p, par) : ref.conv2dBackwardWeight(g, x, weightShape, p);
    }

}
