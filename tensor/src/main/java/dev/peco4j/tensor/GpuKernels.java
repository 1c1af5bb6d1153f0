package dev.peco4j.tensor;

/**
 * The device kernels ({@code kernels.gpu.c}), launched through a {@link GpuRuntime}: OpenCL or CUDA,
 * the same sources and the same launches. These are the ops of {@link Backend} a device runs itself.
 * Tensors on the device are float32, int32 or bool (stored as int32). What is not here runs on the
 * host through {@link HostFallback}, counted and logged; so does an op here given a dtype its kernel
 * does not take ({@link #host}).
 */
final class GpuKernels implements Backend {
    private static final int NONE = 99; // U_NONE: no activation in the GEMM epilogue
    private static final int GROUP = 256, TILE = 16, GEMM_BLOCK = 64, MAX_RANK = 8; // as kernels.gpu.c: GROUP_SIZE, TILE, BLOCK

    private final GpuRuntime rt;
    private Backend host;

    GpuKernels(GpuRuntime rt) {
        this.rt = rt;
    }

    @Override
    public String name() {
        return rt.kind();
    }

    /** The host's kernels on copies of this device's tensors, counted like any fallback. */
    private Backend host() {
        if (host == null) host = HostFallback.hostOnly(rt.device());
        return host;
    }

    private Tensor out(DType dtype, Shape shape) {
        return new Tensor(Storage.onDevice(rt.device(), dtype, shape.numel()), shape, shape.contiguousStrides(), 0);
    }

    /** x itself when it is contiguous from the start of its buffer, else such a copy. */
    private Tensor flat(Tensor x) {
        return x.isContiguous() && x.offset() == 0 ? x : copy(x, x.dtype());
    }

    /** x itself when its elements are one dense run (from its offset), else a contiguous copy. */
    private Tensor dense(Tensor x) {
        return x.isContiguous() ? x : copy(x, x.dtype());
    }

    private static boolean f32(Tensor... ts) {
        for (Tensor t : ts) if (t != null && t.dtype() != DType.FLOAT32) return false;
        return true;
    }

    private static long[] size(long n) {
        return new long[] {n};
    }

    /** The strides of t broadcast to shape (aligned right; size-1 dims read with stride 0). */
    private static int[] broadcastStrides(Tensor t, Shape shape) {
        int r = shape.rank(), tr = t.dim();
        int[] s = new int[r];
        for (int d = 0; d < tr; d++) {
            int to = r - tr + d;
            s[to] = t.size(d) == 1 && shape.dim(to) != 1 ? 0 : t.strides()[d];
        }
        return s;
    }

    /** The Geom struct of kernels.gpu.c for an elementwise op: a and b (either may be null) broadcast to shape. */
    private static int[] geom(Shape shape, int outOffset, int[] outStrides, Tensor a, Tensor b) {
        int r = shape.rank();
        return geom(shape, outOffset, outStrides, a == null ? 0 : a.offset(), a == null ? new int[r] : broadcastStrides(a, shape),
                b == null ? 0 : b.offset(), b == null ? new int[r] : broadcastStrides(b, shape));
    }

    /** The Geom struct of kernels.gpu.c: rank, n, three offsets, then shape and the three views' strides. */
    private static int[] geom(Shape shape, int outOffset, int[] outStrides, int aOffset, int[] aStrides, int bOffset, int[] bStrides) {
        int r = shape.rank();
        if (r > MAX_RANK) throw new IllegalArgumentException("device kernels: tensors of rank " + r + " (at most " + MAX_RANK + ")");
        int[] g = new int[5 + 4 * MAX_RANK];
        g[0] = Math.max(1, r);
        g[1] = shape.numel();
        g[2] = outOffset;
        g[3] = aOffset;
        g[4] = bOffset;
        if (r == 0) {
            g[5] = 1;
            return g;
        }
        for (int d = 0; d < r; d++) {
            g[5 + d] = shape.dim(d);
            g[5 + MAX_RANK + d] = outStrides[d];
            g[5 + 2 * MAX_RANK + d] = aStrides[d];
            g[5 + 3 * MAX_RANK + d] = bStrides[d];
        }
        return g;
    }

    private static String copyKernel(DType from, DType to) {
        boolean fromInt = from != DType.FLOAT32;
        return switch (to) {
            case FLOAT32 -> fromInt ? "cast_i_f" : "copy_f";
            case INT32 -> fromInt ? "copy_i" : "cast_f_i";
            case BOOL -> fromInt ? (from == DType.BOOL ? "copy_i" : "cast_i_b") : "cast_f_b";
            case FLOAT64 -> throw new AssertionError("no float64 on the device");
        };
    }

    // ------------------------------------------------------------------ movement

    @Override
    public Tensor copy(Tensor x, DType dtype) {
        if (dtype == DType.FLOAT64) return host().copy(x, dtype);
        Tensor y = out(dtype, x.shape());
        if (y.numel() > 0) {
            rt.launch(copyKernel(x.dtype(), dtype), size(y.numel()), null, y, x, geom(x.shape(), 0, x.shape().contiguousStrides(), x, null));
        }
        return y;
    }

    @Override
    public void copyInto(Tensor dst, Tensor src) {
        if (dst.numel() > 0) {
            rt.launch(copyKernel(src.dtype(), dst.dtype()), size(dst.numel()), null, dst, src,
                    geom(dst.shape(), dst.offset(), dst.strides(), src, null));
        }
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public Tensor map(UnaryOps.Fn fn, Tensor x) {
        if (!f32(x)) return host().map(fn, x);
        Tensor xs = dense(x), y = out(DType.FLOAT32, x.shape());
        rt.launch("map_f", size(y.numel()), null, y, xs, xs.offset(), y.numel(), code(fn), p(fn.p0()), p(fn.p1()));
        return y;
    }

    @Override
    public Tensor mapBackward(UnaryOps.Fn fn, Tensor x, Tensor y, Tensor g) {
        if (!f32(x, y, g)) return host().mapBackward(fn, x, y, g);
        Tensor xs = dense(x), ys = dense(y), gs = dense(g), dx = out(DType.FLOAT32, x.shape());
        rt.launch("map_backward_f", size(dx.numel()), null, dx, xs, xs.offset(), ys, ys.offset(), gs, gs.offset(), dx.numel(),
                code(fn), p(fn.p0()), p(fn.p1()));
        return dx;
    }

    /** The kernel's code of a unary function: its Op's position, the first entries of Op being the unary ones. */
    private static int code(UnaryOps.Fn fn) {
        if (fn == null) return NONE;
        int c = fn.op().ordinal();
        if (c > Op.POW_SCALAR.ordinal()) throw new IllegalArgumentException("device kernels: " + fn.op() + " is not a unary function");
        return c;
    }

    private static float p(double v) {
        return (float) v;
    }

    @Override
    public Tensor zip(BinaryOps.Fn fn, Tensor a, Tensor b, DType outType) {
        Shape shape = Shape.broadcast(a.shape(), b.shape(), fn.name());
        boolean compare = fn.ordinal() >= BinaryOps.Fn.EQ.ordinal();
        String kernel;
        if (f32(a, b)) kernel = compare ? "compare_f" : "zip_f";
        else if (a.dtype() != DType.FLOAT32 && b.dtype() != DType.FLOAT32 && fn != BinaryOps.Fn.POW) kernel = "zip_i";
        else return host().zip(fn, a, b, outType);
        if (outType == DType.FLOAT64) return host().zip(fn, a, b, outType);
        Tensor y = out(outType, shape);
        if (y.numel() > 0) rt.launch(kernel, size(y.numel()), null, y, a, b, geom(shape, 0, shape.contiguousStrides(), a, b), fn.ordinal());
        return y;
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) return host().where(cond, a, b);
        Tensor y = out(a.dtype(), a.shape());
        if (y.numel() > 0) {
            rt.launch(a.dtype() == DType.FLOAT32 ? "where_f" : "where_i", size(y.numel()), null, y, cond, cond.offset(), a, b,
                    geom(a.shape(), 0, broadcastStrides(cond, a.shape()), a, b));
        }
        return y;
    }

    // ------------------------------------------------------------------ reductions

    /** x with the dims not in dims first and those in dims last, as a contiguous (kept, reduced) matrix. */
    private Tensor reducedLast(Tensor x, int[] dims) {
        int r = x.dim();
        boolean[] reduced = new boolean[r];
        for (int d : dims) reduced[d] = true;
        int[] order = new int[r];
        int k = 0;
        for (int d = 0; d < r; d++) if (!reduced[d]) order[k++] = d;
        for (int d = 0; d < r; d++) if (reduced[d]) order[k++] = d;
        return dense(permuted(x, order));
    }

    private static Shape keptShape(Tensor x, int[] dims) {
        int[] s = x.shape().dims().clone();
        for (int d : dims) s[d] = 1;
        return Shape.of(s);
    }

    private Tensor reduceRows(String kernel, Tensor x, int[] dims, DType dtype) {
        Shape kept = keptShape(x, dims);
        Tensor y = out(dtype, kept);
        if (y.numel() == 0) return y;
        Tensor m = reducedLast(x, dims);
        int cols = x.numel() / y.numel();
        rt.launch(kernel, size((long) y.numel() * GROUP), new long[] {GROUP}, y, m, m.offset(), cols);
        return y;
    }

    @Override
    public Tensor sum(Tensor x, int[] dims) {
        if (x.numel() == 0) return host().sum(x, dims);
        return switch (x.dtype()) {
            case FLOAT32 -> reduceRows("sum_rows_f", x, dims, DType.FLOAT32);
            case INT32 -> reduceRows("sum_rows_i", x, dims, DType.INT32);
            default -> host().sum(x, dims);
        };
    }

    @Override
    public Tensor amax(Tensor x, int[] dims) {
        return f32(x) ? reduceRows("max_rows_f", x, dims, DType.FLOAT32) : host().amax(x, dims);
    }

    /** The order that moves dim to the end, and the strides that put a contiguous result of that order back in place. */
    private static int[] lastOrder(int rank, int dim) {
        int[] order = new int[rank];
        for (int d = 0, k = 0; d < rank; d++) if (d != dim) order[k++] = d;
        order[rank - 1] = dim;
        return order;
    }

    private static Tensor permuted(Tensor x, int[] order) {
        int[] sizes = new int[order.length], strides = new int[order.length];
        for (int d = 0; d < order.length; d++) {
            sizes[d] = x.size(order[d]);
            strides[d] = x.strides()[order[d]];
        }
        return new Tensor(x.storage, Shape.of(sizes), strides, x.offset());
    }

    /** A contiguous result computed in the order of {@code order}, as a contiguous tensor of the original dim order. */
    private Tensor unpermuted(Tensor y, int[] order, Shape shape) {
        int[] inverse = new int[order.length];
        for (int d = 0; d < order.length; d++) inverse[order[d]] = d;
        return dense(permuted(y, inverse)).rawView(shape.dims());
    }

    @Override
    public Tensor softmax(Tensor x, int dim, boolean log) {
        if (!f32(x) || x.numel() == 0) return host().softmax(x, dim, log);
        int[] order = lastOrder(x.dim(), dim);
        Tensor xs = dense(permuted(x, order)), y = out(DType.FLOAT32, xs.shape());
        int cols = x.size(dim);
        rt.launch("softmax_rows_f", size((long) (y.numel() / cols) * GROUP), new long[] {GROUP}, y, xs, xs.offset(), cols, log ? 1 : 0);
        return dim == x.dim() - 1 ? y : unpermuted(y, order, x.shape());
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor g, int dim, boolean log) {
        if (!f32(y, g) || y.numel() == 0) return host().softmaxBackward(y, g, dim, log);
        int[] order = lastOrder(y.dim(), dim);
        Tensor ys = dense(permuted(y, order)), gs = dense(permuted(g, order)), dx = out(DType.FLOAT32, ys.shape());
        int cols = y.size(dim);
        rt.launch("softmax_backward_rows_f", size((long) (dx.numel() / cols) * GROUP), new long[] {GROUP}, dx, ys, ys.offset(), gs,
                gs.offset(), cols, log ? 1 : 0);
        return dim == y.dim() - 1 ? dx : unpermuted(dx, order, y.shape());
    }

    // ------------------------------------------------------------------ GEMM

    @Override
    public Tensor bmm(Tensor a, Tensor b) {
        if (!f32(a, b)) return host().bmm(a, b);
        int batch = a.size(0), n = a.size(1), k = a.size(2), m = b.size(2);
        Tensor c = out(DType.FLOAT32, Shape.of(batch, n, m));
        int[] sa = a.strides(), sb = b.strides();
        gemm(c, null, a, a.offset(), sa[0], sa[1], sa[2], b, b.offset(), sb[0], sb[1], sb[2], null, batch, n, m, k, null, 1);
        return c;
    }

    @Override
    public Tensor[] linear(Tensor x, Tensor w, Tensor b, UnaryOps.Fn act) {
        if (!f32(x, w, b)) return host().linear(x, w, b, act);
        int rows = x.size(0), k = x.size(1), n = w.size(0);
        Tensor y = out(DType.FLOAT32, Shape.of(rows, n)), z = act == null ? null : out(DType.FLOAT32, Shape.of(rows, n));
        int[] sx = x.strides(), sw = w.strides();
        gemm(y, z, x, x.offset(), 0, sx[0], sx[1], w, w.offset(), 0, sw[1], sw[0], b, 1, rows, n, k, act, 1);
        return new Tensor[] {y, z};
    }

    /** The GEMM kernel's blocks of BLOCK = TILE·REG outputs along a side of size n. */
    private static long blocks(int n) {
        return (n + GEMM_BLOCK - 1) / GEMM_BLOCK;
    }

    private void gemm(Tensor c, Tensor z, Tensor a, int aOff, int aBatch, int aRow, int aCol, Tensor b, int bOff, int bBatch, int bRow,
                      int bCol, Tensor bias, int batch, int n, int m, int k, UnaryOps.Fn act, double alpha) {
        if (c.numel() == 0) return;
        rt.launch("gemm_f", new long[] {blocks(m) * TILE, blocks(n) * TILE, batch}, new long[] {TILE, TILE, 1}, c, z == null ? c : z, z == null ? 0 : 1, a, b,
                bias == null ? c : flat(bias), bias == null ? 0 : 1, n, m, k, aOff, aBatch, aRow, aCol, bOff, bBatch, bRow, bCol,
                p(alpha), code(act), act == null ? 0f : p(act.p0()), act == null ? 0f : p(act.p1()));
    }

    // ------------------------------------------------------------------ normalization and loss

    @Override
    public Tensor[] layerNorm(Tensor x, Tensor w, Tensor b, int d, double eps) {
        if (!f32(x, w, b) || x.numel() == 0 || d == 0) return host().layerNorm(x, w, b, d, eps);
        return normalizeRows(x, w, b, d, eps, 1, 0);
    }

    /** Group norm as layer norm over each (image, group) row of C/G·S elements, with a per-channel affine. */
    @Override
    public Tensor[] groupNorm(Tensor x, Tensor w, Tensor b, int groups, double eps) {
        if (!f32(x, w, b) || x.numel() == 0) return host().groupNorm(x, w, b, groups, eps);
        int plane = x.numel() / (x.size(0) * x.size(1));
        if (plane == 0) return host().groupNorm(x, w, b, groups, eps);
        return normalizeRows(x, w, b, x.numel() / (x.size(0) * groups), eps, groups, plane);
    }

    /** {y, mean, rstd} of layer_norm_f over rows of d elements (plane 0: layer norm's affine; else group norm's, see affine_index). */
    private Tensor[] normalizeRows(Tensor x, Tensor w, Tensor b, int d, double eps, int groups, int plane) {
        Tensor xs = dense(x), y = out(DType.FLOAT32, x.shape());
        int rows = x.numel() / d;
        Tensor mean = out(DType.FLOAT32, Shape.of(rows)), rstd = out(DType.FLOAT32, Shape.of(rows));
        rt.launch("layer_norm_f", size((long) rows * GROUP), new long[] {GROUP}, y, mean, rstd, xs, xs.offset(), w == null ? y : flat(w),
                b == null ? y : flat(b), w == null ? 0 : 1, b == null ? 0 : 1, d, p(eps), groups, plane);
        return new Tensor[] {y, mean, rstd};
    }

    /** dx of layer_norm_backward_f, as {@link #normalizeRows}; gs and xs already dense. */
    private Tensor normalizeRowsBackward(Tensor gs, Tensor xs, Tensor w, Tensor ms, Tensor rs, int d, int groups, int plane) {
        Tensor dx = out(DType.FLOAT32, xs.shape());
        rt.launch("layer_norm_backward_f", size((long) (xs.numel() / d) * GROUP), new long[] {GROUP}, dx, gs, gs.offset(), xs, xs.offset(),
                w == null ? dx : flat(w), w == null ? 0 : 1, ms, rs, d, groups, plane);
        return dx;
    }

    @Override
    public Tensor[] groupNormBackward(Tensor dy, Tensor x, Tensor w, Tensor b, Tensor mean, Tensor rstd, int groups) {
        if (!f32(dy, x, w, b, mean, rstd) || x.numel() == 0) return host().groupNormBackward(dy, x, w, b, mean, rstd, groups);
        int images = x.size(0), channels = x.size(1), d = x.numel() / (images * groups), plane = x.numel() / (images * channels);
        if (plane == 0) return host().groupNormBackward(dy, x, w, b, mean, rstd, groups);
        Tensor gs = dense(dy), xs = dense(x), ms = flat(mean), rs = flat(rstd), dx = normalizeRowsBackward(gs, xs, w, ms, rs, d, groups, plane);
        if (w == null && b == null) return new Tensor[] {dx, null, null};
        Tensor dw = out(DType.FLOAT32, Shape.of(channels)), db = out(DType.FLOAT32, Shape.of(channels));
        rt.launch("group_norm_dwdb_f", size(channels), null, dw, db, gs, gs.offset(), xs, xs.offset(), ms, rs, images, channels, groups, plane);
        return new Tensor[] {dx, w == null ? null : dw.rawView(w.shape().dims()), b == null ? null : db.rawView(b.shape().dims())};
    }

    @Override
    public Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, int d) {
        if (!f32(dy, x, w, mean, rstd) || x.numel() == 0 || d == 0) return host().layerNormBackward(dy, x, w, mean, rstd, d);
        Tensor gs = dense(dy), xs = dense(x), ms = flat(mean), rs = flat(rstd), dx = normalizeRowsBackward(gs, xs, w, ms, rs, d, 1, 0);
        int rows = x.numel() / d;
        if (w == null) return new Tensor[] {dx, null, null};
        Tensor dw = out(DType.FLOAT32, w.shape()), db = out(DType.FLOAT32, w.shape());
        rt.launch("layer_norm_dwdb_f", size(d), null, dw, db, gs, gs.offset(), xs, xs.offset(), ms, rs, rows, d);
        return new Tensor[] {dx, dw, db};
    }

    @Override
    public Tensor[] crossEntropy(Tensor x, Tensor target, double smoothing, int ignore) {
        int rows = x.size(0), c = x.size(1);
        if (!f32(x) || rows == 0 || c == 0) return host().crossEntropy(x, target, smoothing, ignore);
        Tensor xs = dense(x), t = dense(target), loss = out(DType.FLOAT32, Shape.of(rows)), lse = out(DType.FLOAT32, Shape.of(rows));
        rt.launch("cross_entropy_f", size((long) rows * GROUP), new long[] {GROUP}, loss, lse, xs, xs.offset(), t, t.offset(), c,
                p(smoothing), ignore);
        return new Tensor[] {loss, lse};
    }

    @Override
    public Tensor crossEntropyBackward(Tensor x, Tensor lse, Tensor target, Tensor g, double smoothing, int ignore) {
        int rows = x.size(0), c = x.size(1);
        if (!f32(x, lse, g) || rows == 0 || c == 0) return host().crossEntropyBackward(x, lse, target, g, smoothing, ignore);
        Tensor xs = dense(x), t = dense(target), gs = dense(g), dx = out(DType.FLOAT32, x.shape());
        rt.launch("cross_entropy_backward_f", size((long) rows * c), null, dx, xs, xs.offset(), flat(lse), t, t.offset(), gs, gs.offset(),
                rows, c, p(smoothing), ignore);
        return dx;
    }

    @Override
    public Tensor argmax(Tensor x, int dim, boolean min) {
        if (!f32(x) || x.numel() == 0) return host().argmax(x, dim, min);
        Tensor xs = dense(permuted(x, lastOrder(x.dim(), dim)));
        Tensor y = out(DType.INT32, keptShape(x, new int[] {dim}));
        rt.launch("argmax_rows_f", size((long) y.numel() * GROUP), new long[] {GROUP}, y, xs, xs.offset(), x.size(dim), min ? 1 : 0);
        return y;
    }

    // ------------------------------------------------------------------ attention

    /** The logits scale·q·kᵀ + bias, −∞ at masked keys, as a new (B, H, N, M) tensor. */
    private Tensor scores(Tensor qd, Tensor kd, Tensor bias, Tensor keyMask, double scale) {
        int b = qd.size(0), h = qd.size(1), n = qd.size(2), d = qd.size(3), m = kd.size(2);
        Tensor s = out(DType.FLOAT32, Shape.of(b, h, n, m));
        gemm(s, null, qd, qd.offset(), n * d, d, 1, kd, kd.offset(), m * d, 1, d, null, b * h, n, m, d, null, scale);
        if (bias != null || keyMask != null) {
            Tensor mask = keyMask == null ? null : dense(keyMask);
            rt.launch("attn_scores_f", size(s.numel()), null, s, bias == null ? s : flat(bias), bias == null ? 0 : 1,
                    bias != null && bias.size(0) != 1 ? 1 : 0, mask == null ? s : mask, mask == null ? 0 : mask.offset(), mask == null ? 0 : 1,
                    h, n, m, s.numel());
        }
        return s;
    }

    @Override
    public Tensor[] sdpa(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scale) {
        if (!f32(q, k, v, bias) || q.numel() == 0 || k.size(2) == 0) return host().sdpa(q, k, v, bias, keyMask, scale);
        int b = q.size(0), h = q.size(1), n = q.size(2), m = k.size(2), e = v.size(3);
        Tensor vd = dense(v), p = scores(dense(q), dense(k), bias, keyMask, scale);
        Tensor lse = out(DType.FLOAT32, Shape.of(b, h, n)), o = out(DType.FLOAT32, Shape.of(b, h, n, e));
        rt.launch("attn_softmax_f", size((long) b * h * n * GROUP), new long[] {GROUP}, p, lse, m);
        gemm(o, null, p, 0, n * m, m, 1, vd, vd.offset(), m * e, e, 1, null, b * h, n, e, m, null, 1);
        return new Tensor[] {o, lse};
    }

    @Override
    public Tensor[] sdpaBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, Tensor out, Tensor lse,
                                 double scale, boolean biasGrad) {
        if (!f32(dout, q, k, v, bias, out, lse) || q.numel() == 0 || k.size(2) == 0) {
            return host().sdpaBackward(dout, q, k, v, bias, keyMask, out, lse, scale, biasGrad);
        }
        int b = q.size(0), h = q.size(1), n = q.size(2), d = q.size(3), m = k.size(2), e = v.size(3), bh = b * h;
        Tensor qd = dense(q), kd = dense(k), vd = dense(v), go = dense(dout), od = dense(out), ls = dense(lse);
        Tensor p = scores(qd, kd, bias, keyMask, scale);
        rt.launch("attn_probs_f", size(p.numel()), null, p, ls, ls.offset(), m, p.numel());
        Tensor dv = out(DType.FLOAT32, Shape.of(b, h, m, e)), ds = out(DType.FLOAT32, Shape.of(b, h, n, m));
        gemm(dv, null, p, 0, n * m, 1, m, go, go.offset(), n * e, e, 1, null, bh, m, e, n, null, 1);      // Pᵀ·dO
        gemm(ds, null, go, go.offset(), n * e, e, 1, vd, vd.offset(), m * e, 1, e, null, bh, n, m, e, null, 1); // dO·Vᵀ
        rt.launch("attn_dscores_f", size((long) bh * n * GROUP), new long[] {GROUP}, ds, p, go, go.offset(), od, od.offset(), m, e);
        Tensor dq = out(DType.FLOAT32, Shape.of(b, h, n, d)), dk = out(DType.FLOAT32, Shape.of(b, h, m, d));
        gemm(dq, null, ds, 0, n * m, m, 1, kd, kd.offset(), m * d, d, 1, null, bh, n, d, m, null, scale);    // scale·dS·K
        gemm(dk, null, ds, 0, n * m, 1, m, qd, qd.offset(), n * d, d, 1, null, bh, m, d, n, null, scale);    // scale·dSᵀ·Q
        Tensor dbias = null;
        if (biasGrad) dbias = bias.size(0) == 1 && b > 1 ? sum(ds, new int[] {0}) : ds;
        return new Tensor[] {dq, dk, dv, dbias};
    }

    // ------------------------------------------------------------------ convolution

    /** The Conv struct of kernels.gpu.c. */
    private static int[] conv(Shape x, Shape w, Shape y, Conv2dParams p) {
        return new int[] {x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3), y.dim(2), y.dim(3),
            p.strideH(), p.strideW(), p.padH(), p.padW(), p.dilationH(), p.dilationW(), p.groups()};
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        if (!f32(x, w)) return host().conv2d(x, w, p);
        Shape ys = Shape.of(x.size(0), w.size(0), Conv2dParams.convOut(x.size(2), w.size(2), p.strideH(), p.padH(), p.dilationH()),
                Conv2dParams.convOut(x.size(3), w.size(3), p.strideW(), p.padW(), p.dilationW()));
        Tensor xs = dense(x), ws = dense(w), y = out(DType.FLOAT32, ys);
        if (y.numel() > 0) rt.launch("conv2d_f", size(y.numel()), null, y, xs, xs.offset(), ws, ws.offset(), conv(x.shape(), w.shape(), ys, p));
        return y;
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor g, Tensor w, Shape inputShape, Conv2dParams p) {
        if (!f32(g, w)) return host().conv2dBackwardInput(g, w, inputShape, p);
        Tensor gs = dense(g), ws = dense(w), dx = out(DType.FLOAT32, inputShape);
        if (dx.numel() > 0) {
            rt.launch("conv2d_backward_input_f", size(dx.numel()), null, dx, gs, gs.offset(), ws, ws.offset(), conv(inputShape, w.shape(), g.shape(), p));
        }
        return dx;
    }

    @Override
    public Tensor conv2dBackwardWeight(Tensor g, Tensor x, Shape weightShape, Conv2dParams p) {
        if (!f32(g, x)) return host().conv2dBackwardWeight(g, x, weightShape, p);
        Tensor gs = dense(g), xs = dense(x), dw = out(DType.FLOAT32, weightShape);
        if (dw.numel() > 0) {
            rt.launch("conv2d_backward_weight_f", size(dw.numel()), null, dw, gs, gs.offset(), xs, xs.offset(), conv(x.shape(), weightShape, g.shape(), p));
        }
        return dw;
    }

    // ------------------------------------------------------------------ pooling

    /** The Pool struct of kernels.gpu.c (adaptive pooling uses only the sizes). */
    private static int[] pool(Shape x, int oh, int ow, Pool2dParams p) {
        return p == null ? new int[] {x.dim(0) * x.dim(1), x.dim(2), x.dim(3), oh, ow, 1, 1, 1, 1, 0, 0, 1, 1, 0}
                : new int[] {x.dim(0) * x.dim(1), x.dim(2), x.dim(3), oh, ow, p.kernelH(), p.kernelW(), p.strideH(), p.strideW(),
                    p.padH(), p.padW(), p.dilationH(), p.dilationW(), p.countIncludePad() ? 1 : 0};
    }

    private Tensor pooled(String kernel, Tensor x, int oh, int ow, Pool2dParams p) {
        Tensor xs = dense(x), y = out(DType.FLOAT32, Shape.of(x.size(0), x.size(1), oh, ow));
        if (y.numel() > 0) rt.launch(kernel, size(y.numel()), null, y, xs, xs.offset(), pool(x.shape(), oh, ow, p));
        return y;
    }

    private Tensor unpooled(String kernel, Tensor g, Shape inputShape, Pool2dParams p) {
        Tensor gs = dense(g), dx = out(DType.FLOAT32, inputShape);
        if (dx.numel() > 0) rt.launch(kernel, size(dx.numel()), null, dx, gs, gs.offset(), pool(inputShape, g.size(2), g.size(3), p));
        return dx;
    }

    @Override
    public Tensor avgPool2d(Tensor x, Pool2dParams p) {
        return f32(x) ? pooled("avg_pool_f", x, p.outH(x.size(2)), p.outW(x.size(3)), p) : host().avgPool2d(x, p);
    }

    @Override
    public Tensor avgPool2dBackward(Tensor g, Shape inputShape, Pool2dParams p) {
        return f32(g) ? unpooled("avg_pool_backward_f", g, inputShape, p) : host().avgPool2dBackward(g, inputShape, p);
    }

    @Override
    public Tensor[] maxPool2d(Tensor x, Pool2dParams p) {
        if (!f32(x)) return host().maxPool2d(x, p);
        Shape ys = Shape.of(x.size(0), x.size(1), p.outH(x.size(2)), p.outW(x.size(3)));
        Tensor xs = dense(x), y = out(DType.FLOAT32, ys), arg = out(DType.INT32, ys);
        if (y.numel() > 0) rt.launch("max_pool_f", size(y.numel()), null, y, arg, xs, xs.offset(), pool(x.shape(), ys.dim(2), ys.dim(3), p));
        return new Tensor[] {y, arg};
    }

    @Override
    public Tensor maxPool2dBackward(Tensor g, Tensor indices, Shape inputShape) {
        if (!f32(g)) return host().maxPool2dBackward(g, indices, inputShape);
        Tensor gs = dense(g), idx = dense(indices), dx = out(DType.FLOAT32, inputShape);
        if (dx.numel() > 0) {
            rt.launch("max_pool_backward_f", size(dx.numel()), null, dx, gs, gs.offset(), idx, idx.offset(), pool(inputShape, g.size(2), g.size(3), null));
        }
        return dx;
    }

    @Override
    public Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return f32(x) ? pooled("adaptive_avg_pool_f", x, outH, outW, null) : host().adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    public Tensor adaptiveAvgPool2dBackward(Tensor g, Shape inputShape) {
        return f32(g) ? unpooled("adaptive_avg_pool_backward_f", g, inputShape, null) : host().adaptiveAvgPool2dBackward(g, inputShape);
    }

    // ------------------------------------------------------------------ indexing (indices already checked to be in range)

    private static String typed(String kernel, DType dtype) {
        return kernel + (dtype == DType.FLOAT32 ? "_f" : "_i");
    }

    private Tensor ints(int[] values) {
        return Tensor.ofInts(values, values.length).to(rt.device());
    }

    @Override
    public Tensor indexSelect(Tensor x, int dim, Tensor index) {
        Tensor idx = dense(index);
        Shape shape = x.shape().with(dim, index.numel());
        Tensor y = out(x.dtype(), shape);
        if (y.numel() > 0) {
            rt.launch(typed("index_select", x.dtype()), size(y.numel()), null, y, x, idx,
                    geom(shape, 0, shape.contiguousStrides(), x.offset(), x.strides(), idx.offset(), new int[shape.rank()]), dim);
        }
        return y;
    }

    @Override
    public Tensor gather(Tensor x, int dim, Tensor index) {
        Tensor y = out(x.dtype(), index.shape());
        if (y.numel() > 0) {
            rt.launch(typed("gather", x.dtype()), size(y.numel()), null, y, x, index,
                    geom(index.shape(), 0, index.shape().contiguousStrides(), x.offset(), x.strides(), index.offset(), index.strides()), dim);
        }
        return y;
    }

    /**
     * index_add with the index read on the host (a small copy) and grouped by target row, so that each
     * output element sums its rows in index order: no atomics, the same result every run.
     */
    @Override
    public Tensor indexAdd(Tensor self, int dim, Tensor index, Tensor src) {
        if (self.dtype() != src.dtype()) return host().indexAdd(self, dim, index, src);
        int[] idx = index.toIntArray();
        int size = self.size(dim), inner = self.shape().contiguousStrides()[dim];
        int[] starts = new int[size + 1], positions = new int[idx.length], fill = new int[size];
        for (int v : idx) starts[v + 1]++;
        for (int r = 0; r < size; r++) starts[r + 1] += starts[r];
        for (int j = 0; j < idx.length; j++) positions[starts[idx[j]] + fill[idx[j]]++] = j;
        Tensor base = dense(self), rows = dense(src), y = out(self.dtype(), self.shape());
        if (y.numel() > 0) {
            rt.launch(typed("index_add", self.dtype()), size(y.numel()), null, y, base, base.offset(), rows, rows.offset(), ints(starts),
                    ints(positions), y.numel(), size, inner, idx.length);
        }
        return y;
    }

    /** scatter_add grouped by target element on the host (as {@link #indexAdd}), each target summing its sources in index order. */
    @Override
    public Tensor scatterAdd(Tensor self, int dim, Tensor index, Tensor src) {
        if (self.dtype() != src.dtype()) return host().scatterAdd(self, dim, index, src);
        int[] idx = index.toIntArray();
        int[] selfStrides = self.shape().contiguousStrides(), rowStrides = selfStrides.clone();
        rowStrides[dim] = 0;
        int[] target = Tensor.offsets(index.shape(), rowStrides, 0), from = Tensor.offsets(index.shape(), src.strides(), src.offset());
        int n = self.numel();
        int[] starts = new int[n + 1], at = new int[idx.length], fill = new int[n];
        for (int k = 0; k < idx.length; k++) {
            target[k] += idx[k] * selfStrides[dim];
            starts[target[k] + 1]++;
        }
        for (int i = 0; i < n; i++) starts[i + 1] += starts[i];
        for (int k = 0; k < idx.length; k++) at[starts[target[k]] + fill[target[k]]++] = from[k];
        Tensor base = dense(self), y = out(self.dtype(), self.shape());
        if (n > 0) rt.launch(typed("segment_add", self.dtype()), size(n), null, y, base, base.offset(), src, ints(starts), ints(at), n);
        return y;
    }

    // ------------------------------------------------------------------ optimizer

    @Override
    public void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStep s) {
        if (!f32(p, g, m, v) || p.offset() != 0 || m.offset() != 0 || v.offset() != 0) {
            host().adamStep(p, g, m, v, s);
            return;
        }
        Tensor gs = dense(g);
        if (p.numel() > 0) {
            rt.launch("adam_f", size(p.numel()), null, p, gs, gs.offset(), m, v, p.numel(), p(s.lr()), p(s.beta1()), p(s.beta2()),
                    p(s.eps()), p(s.weightDecay()), s.decoupled() ? 1 : 0, p(s.biasCorrection1()), p(Math.sqrt(s.biasCorrection2())));
        }
        p.storage.version++;
        m.storage.version++;
        v.storage.version++;
    }
}
