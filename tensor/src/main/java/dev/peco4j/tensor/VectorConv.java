package dev.peco4j.tensor;

/**
 * Float32 convolution as im2col + {@link Sgemm}; the stride-1 convolutions {@link DirectConv#applies}
 * takes (3×3 same ones of up to 64 input channels, any into 1–4 output channels) go there instead, and
 * depthwise ones (one input channel per group, MobileNetV2's) to {@link DepthwiseConv}.
 * Letters: N batch, C channels (Cg per group), O output channels (Og per group), H×W input, KH×KW
 * kernel, P = OH·OW output positions, R = Cg·KH·KW. For image n and group g: y_ng (Og×P) = W_g
 * (Og×R) · cols_ng (R×P).
 *
 * <p>Forward and input-backward run one GEMM per chunk of images (one image when its output is wide,
 * several side by side when it is narrow); the weight gradient is one GEMM per chunk of images
 * (threads split it), summed in a fixed order, so all three are bit-identical for any thread count.
 * Chosen over implicit GEMM because it reuses the tuned SGEMM as is; the forward's 1×1 stride-1
 * convolutions of one image skip the im2col copy, 'same' stride-1 ones build it a shifted plane at a
 * time, and the rest copy each tap's output rows out of a padded plane ({@link Padded}).
 */
final class VectorConv {
    private VectorConv() {}

    record Geo(int n, int c, int h, int w, int o, int kh, int kw, int oh, int ow, int groups, Conv2dParams p) {
        int cg() { return c / groups; }
        int og() { return o / groups; }
        int positions() { return oh * ow; }
        int rows() { return cg() * kh * kw; }
        boolean pointwise() {
            return kh == 1 && kw == 1 && p.strideH() == 1 && p.strideW() == 1 && p.padH() == 0 && p.padW() == 0;
        }
    }

    static Geo geo(Shape x, Shape w, int oh, int ow, Conv2dParams p) {
        return new Geo(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3), oh, ow, p.groups(), p);
    }

    /** cols (R×P) of image n, group g, from x (contiguous), into the P columns from colOff of a matrix with row stride ld (several images side by side). */
    private static void im2col(Geo s, float[] x, int n, int g, float[] cols, int colOff, int ld) {
        Conv2dParams p = s.p();
        Padded pad = samePlane(s) ? null : new Padded(s);
        float[] pp = pad == null ? null : Scratch.get().floats(2, pad.size());
        for (int c = 0; c < s.cg(); c++) {
            int plane = (n * s.c() + g * s.cg() + c) * s.h() * s.w();
            if (pad != null) pad.fill(x, plane, pp);
            for (int a = 0; a < s.kh(); a++) {
                for (int b = 0; b < s.kw(); b++) {
                    int row = colOff + ((c * s.kh() + a) * s.kw() + b) * ld;
                    if (pad == null) {
                        copyShifted(s, x, plane, a * p.dilationH() - p.padH(), b * p.dilationW() - p.padW(), cols, row);
                        continue;
                    }
                    for (int i = 0, src = pad.tap(a, b), dst = row; i < s.oh(); i++, src += pad.rowStride(), dst += s.ow()) {
                        System.arraycopy(pp, src, cols, dst, s.ow());
                    }
                }
            }
        }
    }

    /** Adds cols (R×P, from colOff, row stride ld) back into dx for image n, group g (the adjoint of im2col). */
    private static void col2im(Geo s, float[] cols, int colOff, int ld, float[] dx, int n, int g) {
        Conv2dParams p = s.p();
        Padded pad = samePlane(s) ? null : new Padded(s);
        float[] pp = pad == null ? null : Scratch.get().floats(2, pad.size());
        for (int c = 0; c < s.cg(); c++) {
            int plane = (n * s.c() + g * s.cg() + c) * s.h() * s.w();
            if (pad != null) java.util.Arrays.fill(pp, 0, pad.size(), 0f);
            for (int a = 0; a < s.kh(); a++) {
                for (int b = 0; b < s.kw(); b++) {
                    int row = colOff + ((c * s.kh() + a) * s.kw() + b) * ld;
                    if (pad == null) {
                        addShifted(s, cols, row, a * p.dilationH() - p.padH(), b * p.dilationW() - p.padW(), dx, plane);
                        continue;
                    }
                    for (int i = 0, dst = pad.tap(a, b), src = row; i < s.oh(); i++, dst += pad.rowStride(), src += s.ow()) {
                        VectorMath.addInto(cols, src, pp, dst, s.ow());
                    }
                }
            }
            if (pad != null) pad.addBack(pp, dx, plane);
        }
    }

    /**
     * One input plane zero-padded to exactly the rows and columns the kernel reaches: (OH−1)·SH +
     * (KH−1)·DH + 1 by the same across, input (ih, iw) at padded (ih + padH, iw + padW). With stride
     * SW across, the padded columns are split into SW phase planes (column q in plane q mod SW at
     * q div SW), so that each output row of one tap is a contiguous run in one of them. im2col then
     * copies a tap's output rows as whole runs, without bounds checks or fills, and col2im adds into it
     * and the interior back (dx gets each element's adds in the same order as adding straight into it).
     */
    record Padded(Geo s, int hp, int wp, int wq, int r0, int r1, int q0, int q1) {
        Padded(Geo s) {
            this(s, (s.oh() - 1) * s.p().strideH() + (s.kh() - 1) * s.p().dilationH() + 1,
                    (s.ow() - 1) * s.p().strideW() + (s.kw() - 1) * s.p().dilationW() + 1);
        }

        /** [r0, r1) × [q0, q1): the padded rows r whose input row r − padH is inside the image, the columns likewise. */
        private Padded(Geo s, int hp, int wp) {
            this(s, hp, wp, (wp + s.p().strideW() - 1) / s.p().strideW(), Math.min(hp, s.p().padH()),
                    Math.max(Math.min(hp, s.p().padH()), Math.min(hp, s.p().padH() + s.h())), Math.min(wp, s.p().padW()),
                    Math.max(Math.min(wp, s.p().padW()), Math.min(wp, s.p().padW() + s.w())));
        }

        int size() { return s.p().strideW() * hp * wq; }

        /** Where padded (r, q) is stored. */
        private int at(int r, int q) {
            int sw = s.p().strideW();
            return (q % sw * hp + r) * wq + q / sw;
        }

        /** Where tap (a, b) of output (0, 0) is; output (i, j) is i·rowStride() + j further. */
        int tap(int a, int b) {
            return at(a * s.p().dilationH(), b * s.p().dilationW());
        }

        int rowStride() {
            return s.p().strideH() * wq;
        }

        void fill(float[] x, int plane, float[] pp) {
            java.util.Arrays.fill(pp, 0, size(), 0f);
            for (int r = r0; r < r1; r++) {
                int src = plane + (r - s.p().padH()) * s.w() - s.p().padW();
                if (s.p().strideW() == 1) {
                    System.arraycopy(x, src + q0, pp, at(r, q0), q1 - q0);
                } else {
                    for (int ph = 0, sw = s.p().strideW(); ph < sw; ph++) { // phase by phase: no division per element
                        int q = q0 + Math.floorMod(ph - q0, sw);
                        for (int d = q < q1 ? at(r, q) : 0; q < q1; q += sw) pp[d++] = x[src + q];
                    }
                }
            }
        }

        void addBack(float[] pp, float[] dx, int plane) {
            for (int r = r0; r < r1 && q1 > q0; r++) {
                int dst = plane + (r - s.p().padH()) * s.w() - s.p().padW();
                if (s.p().strideW() == 1) {
                    VectorMath.addInto(pp, at(r, q0), dx, dst + q0, q1 - q0);
                } else {
                    for (int ph = 0, sw = s.p().strideW(); ph < sw; ph++) {
                        int q = q0 + Math.floorMod(ph - q0, sw);
                        for (int d = q < q1 ? at(r, q) : 0; q < q1; q += sw) dx[dst + q] += pp[d++];
                    }
                }
            }
        }
    }

    /**
     * Stride 1 and an output as wide as the input (a "same" convolution): each cols row is the input
     * plane shifted by (dh, dw) with zeros where it leaves the image, so it moves as one block.
     */
    private static boolean samePlane(Geo s) {
        return s.p().strideH() == 1 && s.p().strideW() == 1 && s.ow() == s.w();
    }

    /** cols[row + i·W + j] = x[plane + (i+dh)·W + j+dw] where inside the image, else 0 (samePlane). */
    private static void copyShifted(Geo s, float[] x, int plane, int dh, int dw, float[] cols, int row) {
        int w = s.w(), oh = s.oh(), i0 = Math.max(0, Math.min(oh, -dh)), i1 = Math.max(i0, Math.min(oh, s.h() - dh));
        java.util.Arrays.fill(cols, row, row + i0 * w, 0f);
        java.util.Arrays.fill(cols, row + i1 * w, row + oh * w, 0f);
        if (i1 == i0) return;
        int from = row + i0 * w, len = (i1 - i0) * w, k0 = Math.max(0, -dw), k1 = len - Math.max(0, dw);
        if (k1 > k0) System.arraycopy(x, plane + (i0 + dh) * w + dw + k0, cols, from + k0, k1 - k0);
        java.util.Arrays.fill(cols, from, from + Math.min(len, k0), 0f);
        java.util.Arrays.fill(cols, from + Math.max(k0, k1), from + len, 0f);
        zeroEdgeColumns(cols, from, i1 - i0, w, dw); // the block copy wrapped neighbouring rows' pixels into them
    }

    /** The adjoint: dx[plane + (i+dh)·W + j+dw] += cols[row + i·W + j] where inside the image (cols is scratch). */
    private static void addShifted(Geo s, float[] cols, int row, int dh, int dw, float[] dx, int plane) {
        int w = s.w(), oh = s.oh(), i0 = Math.max(0, Math.min(oh, -dh)), i1 = Math.max(i0, Math.min(oh, s.h() - dh));
        if (i1 == i0) return;
        int from = row + i0 * w, len = (i1 - i0) * w, k0 = Math.max(0, -dw), k1 = len - Math.max(0, dw);
        zeroEdgeColumns(cols, from, i1 - i0, w, dw); // so the block add puts +0 where a row wraps
        if (k1 > k0) VectorMath.addInto(cols, from + k0, dx, plane + (i0 + dh) * w + dw + k0, k1 - k0);
    }

    /** In rows of width w from at, the columns j with j + dw outside [0, w) set to 0. */
    private static void zeroEdgeColumns(float[] cols, int at, int rows, int w, int dw) {
        if (dw == 0) return;
        int lo = dw > 0 ? Math.max(0, w - dw) : 0, hi = dw > 0 ? w : Math.min(w, -dw);
        for (int i = 0; i < rows; i++) {                // a plain loop: the spans are 1-2 floats, too short for Arrays.fill's call
            for (int j = at + i * w + lo, end = at + i * w + hi; j < end; j++) cols[j] = 0f;
        }
    }

    private static float[] contiguous(Tensor t) {
        return t.contiguousData();
    }

    static Tensor forward(Tensor xt, Tensor wt, Conv2dParams p, Parallel par) {
        if (DirectConv.applies(xt.shape(), wt.shape(), p)) return DirectConv.forward(xt, wt, p, par);
        if (DepthwiseConv.applies(xt.shape(), p)) return DepthwiseConv.forward(xt, wt, p, par);
        int oh = Conv2dParams.convOut(xt.size(2), wt.size(2), p.strideH(), p.padH(), p.dilationH());
        int ow = Conv2dParams.convOut(xt.size(3), wt.size(3), p.strideW(), p.padW(), p.dilationW());
        Geo s = geo(xt.shape(), wt.shape(), oh, ow, p);
        float[] x = contiguous(xt), w = contiguous(wt), y = new float[s.n() * s.o() * s.positions()];
        inChunks(s, par, (n0, n1, gemmPar) -> forwardChunk(s, x, w, y, n0, n1, gemmPar));
        return new Tensor(Storage.wrap(y), Shape.of(s.n(), s.o(), oh, ow), Shape.of(s.n(), s.o(), oh, ow).contiguousStrides(), 0);
    }

    /** y of images [n0, n1): one GEMM per group, W_g (Og×R) · cols (R × images·P). */
    private static void forwardChunk(Geo s, float[] x, float[] w, float[] y, int n0, int n1, Parallel gemmPar) {
        int P = s.positions(), R = s.rows(), og = s.og(), m = n1 - n0, ld = m * P;
        Scratch scratch = Scratch.get();
        for (int g = 0; g < s.groups(); g++) {
            Sgemm.Mat wg = new Sgemm.Mat(w, g * og * R, R, 1);
            if (m == 1) { // the product lands in y as it is; a pointwise convolution reads x in place
                Sgemm.Mat cols = s.pointwise() ? new Sgemm.Mat(x, (n0 * s.c() + g * s.cg()) * P, P, 1) : new Sgemm.Mat(scratch.floats(0, R * P), 0, P, 1);
                if (!s.pointwise()) im2col(s, x, n0, g, cols.data(), 0, P);
                Sgemm.gemm(og, P, R, wg, cols, y, (n0 * s.o() + g * og) * P, P, false, gemmPar);
                continue;
            }
            float[] cols = scratch.floats(0, R * ld), out = scratch.floats(1, og * ld);
            for (int i = 0; i < m; i++) im2col(s, x, n0 + i, g, cols, i * P, ld);
            Sgemm.gemm(og, ld, R, wg, new Sgemm.Mat(cols, 0, ld, 1), out, 0, ld, false, gemmPar);
            for (int i = 0; i < m; i++) {
                for (int o = 0; o < og; o++) System.arraycopy(out, o * ld + i * P, y, ((n0 + i) * s.o() + g * og + o) * P, P);
            }
        }
    }

    static Tensor backwardInput(Tensor gt, Tensor wt, Shape xs, Conv2dParams p, Parallel par) {
        if (DirectConv.applies(xs, wt.shape(), p)) return DirectConv.backwardInput(gt, wt, xs, p, par);
        if (DepthwiseConv.applies(xs, p)) return DepthwiseConv.backwardInput(gt, wt, xs, p, par);
        Geo s = geo(xs, wt.shape(), gt.size(2), gt.size(3), p);
        float[] g = contiguous(gt), w = contiguous(wt), dx = new float[xs.numel()];
        inChunks(s, par, (n0, n1, gemmPar) -> backwardInputChunk(s, g, w, dx, n0, n1, gemmPar));
        return new Tensor(Storage.wrap(dx), xs, xs.contiguousStrides(), 0);
    }

    /** dx of images [n0, n1): per group, cols (R × images·P) = W_gᵀ (R×Og) · dy (Og × images·P), then col2im. */
    private static void backwardInputChunk(Geo s, float[] g, float[] w, float[] dx, int n0, int n1, Parallel gemmPar) {
        int P = s.positions(), R = s.rows(), og = s.og(), m = n1 - n0, ld = m * P;
        Scratch scratch = Scratch.get();
        float[] cols = scratch.floats(0, R * ld);
        for (int grp = 0; grp < s.groups(); grp++) {
            Sgemm.Mat dy;
            if (m == 1) {
                dy = new Sgemm.Mat(g, (n0 * s.o() + grp * og) * P, P, 1);
            } else {
                float[] side = scratch.floats(1, og * ld);                          // the images' dy side by side
                for (int i = 0; i < m; i++) {
                    for (int o = 0; o < og; o++) System.arraycopy(g, ((n0 + i) * s.o() + grp * og + o) * P, side, o * ld + i * P, P);
                }
                dy = new Sgemm.Mat(side, 0, ld, 1);
            }
            Sgemm.gemm(R, ld, og, new Sgemm.Mat(w, grp * og * R, 1, R), dy, cols, 0, ld, false, gemmPar); // W_g read transposed
            for (int i = 0; i < m; i++) col2im(s, cols, i * P, ld, dx, n0 + i, grp);
        }
    }

    /** Columns (images·P) a forward or input-backward GEMM should reach: narrower images are put side by side. */
    static final int GEMM_COLUMNS = 512;

    /** What a chunk of images [n0, n1) runs, its GEMMs on gemmPar. */
    private interface ChunkTask {
        void run(int n0, int n1, Parallel gemmPar);
    }

    /**
     * Runs the forward or input-backward over chunks of images. An image with at least
     * {@link #GEMM_COLUMNS} output positions is its own chunk (its GEMM writes straight into the
     * output); narrower ones go side by side in one GEMM (a 6×6 output gave GEMMs 36 columns wide), at
     * most {@link #CHUNK_FLOATS} floats of columns. Chunks are as even as the batch allows and, when
     * there are at least as many as threads, run one per thread with serial GEMMs; otherwise each
     * chunk's GEMM runs on all threads. No output element's sum depends on which images share a GEMM,
     * so the bits depend on neither the chunks nor the thread count.
     */
    private static void inChunks(Geo s, Parallel par, ChunkTask task) {
        int n = s.n(), P = Math.max(1, s.positions());
        if (n == 0 || s.positions() == 0) return;
        int widest = Math.max(1, Math.min((GEMM_COLUMNS + P - 1) / P, CHUNK_FLOATS / Math.max(1, s.rows() * P)));
        int chunks = (n + Math.min(n, widest) - 1) / Math.min(n, widest);
        if (widest > 1 && chunks < n) chunks = Math.min(n, (chunks + par.threads() - 1) / par.threads() * par.threads());
        int per = (n + chunks - 1) / chunks;
        int count = (n + per - 1) / per;
        boolean split = count >= par.threads();
        (split ? par : Parallel.SERIAL).forRange(count, 1, (from, to) -> {
            for (int c = from; c < to; c++) task.run(c * per, Math.min(n, (c + 1) * per), split ? Parallel.SERIAL : par);
        });
    }

    /** Floats of the im2col matrix of one chunk of images (16 MB): bounds memory at 224 px. */
    private static final int CHUNK_FLOATS = 1 << 22;

    /** Columns (K = images·P) a chunk of images should reach before chunks run side by side: two of the GEMM's K blocks. */
    private static final int CHUNK_COLUMNS = 2 * Sgemm.KC;

    /**
     * dW_g (Og×R) = Σ_n dy_ng (Og×P) · cols_ngᵀ (P×R), as one GEMM per chunk of images laid side by
     * side (K = images·P) instead of one small GEMM per image, computed transposed: the images'
     * columns are im2col'd into one (R × nb·P) matrix, dy transposed into one (nb·P × Og) matrix, and
     * dW_gᵀ (R×Og) accumulated over the chunks.
     *
     * <p>Chunks hold ⌈{@link #CHUNK_COLUMNS}/P⌉ images (at most {@link #CHUNK_FLOATS} floats of columns).
     * When there are several, they run side by side, one per thread with a serial GEMM, each into its
     * own partial dWᵀ, and the partials are added in chunk order: small images and narrow layers (the
     * tokenizer's 16–32 channels) gave the threads of one GEMM too few tiles to share (2 threads spent
     * 40% of this kernel waiting). One chunk runs its GEMM on all threads. Either way the chunks depend
     * on the shapes only, so any thread count gives the same bits.
     */
    static Tensor backwardWeight(Tensor gt, Tensor xt, Shape ws, Conv2dParams p, Parallel par) {
        if (DirectConv.applies(xt.shape(), ws, p)) return DirectConv.backwardWeight(gt, xt, ws, p, par);
        if (DepthwiseConv.applies(xt.shape(), p)) return DepthwiseConv.backwardWeight(gt, xt, ws, p, par);
        Geo s = geo(xt.shape(), ws, gt.size(2), gt.size(3), p);
        float[] g = contiguous(gt), x = contiguous(xt);
        float[] dw = new float[ws.numel()];
        int P = s.positions(), R = s.rows(), og = s.og();
        if (P == 0 || s.n() == 0) return new Tensor(Storage.wrap(dw), ws, ws.contiguousStrides(), 0);
        int nb = Math.max(1, Math.min(Math.min(s.n(), CHUNK_FLOATS / Math.max(1, R * P)), (CHUNK_COLUMNS + P - 1) / P));
        int chunks = (s.n() + nb - 1) / nb;
        float[] dwT = new float[R * og];
        for (int grp = 0; grp < s.groups(); grp++) {
            int gg = grp;
            if (chunks == 1) {
                chunkProduct(s, x, g, gg, 0, s.n(), dwT, 0, par, par);
            } else {
                float[] partial = new float[chunks * R * og];
                par.forRange(chunks, 1, (from, to) -> {
                    for (int c = from; c < to; c++) {
                        chunkProduct(s, x, g, gg, c * nb, Math.min(s.n(), (c + 1) * nb), partial, c * R * og, Parallel.SERIAL, Parallel.SERIAL);
                    }
                });
                System.arraycopy(partial, 0, dwT, 0, R * og);
                for (int c = 1; c < chunks; c++) VectorMath.addInto(partial, c * R * og, dwT, 0, R * og);
            }
            for (int o = 0; o < og; o++) for (int r = 0; r < R; r++) dw[(grp * og + o) * R + r] = dwT[r * og + o];
        }
        return new Tensor(Storage.wrap(dw), ws, ws.contiguousStrides(), 0);
    }

    /** dWᵀ (R×Og, at dwOff) = cols (R × m·P) · dyᵀ (m·P × Og) over images [n0, n1) of group grp, the copies on copyPar, the GEMM on gemmPar. */
    private static void chunkProduct(Geo s, float[] x, float[] g, int grp, int n0, int n1, float[] dwT, int dwOff, Parallel copyPar, Parallel gemmPar) {
        int P = s.positions(), R = s.rows(), og = s.og(), m = n1 - n0, ld = m * P;
        Scratch scratch = Scratch.get();
        float[] cols = scratch.floats(0, R * ld), dyT = scratch.floats(1, ld * og);
        copyPar.forRange(m, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                im2col(s, x, n0 + i, grp, cols, i * P, ld);
                int src = ((n0 + i) * s.o() + grp * og) * P, dst = i * P * og;
                for (int o = 0; o < og; o++) for (int q = 0; q < P; q++) dyT[dst + q * og + o] = g[src + o * P + q];
            }
        });
        Sgemm.gemm(R, og, ld, new Sgemm.Mat(cols, 0, ld, 1), new Sgemm.Mat(dyT, 0, og, 1), dwT, dwOff, og, false, gemmPar);
    }

    /**
     * Per-thread scratch arrays, grown as needed and reused across calls (a training step runs hundreds
     * of convolutions; fresh im2col buffers of up to 16 MB each were a large part of its GC time). Slot
     * i is one buffer; a kernel's slots are in use only while it runs on that thread.
     */
    static final class Scratch {
        private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);
        private final float[][] slots = new float[3][0];

        static Scratch get() {
            return LOCAL.get();
        }

        /** Slot i with at least n floats (contents undefined). */
        float[] floats(int i, int n) {
            if (slots[i].length < n) slots[i] = new float[n];
            return slots[i];
        }
    }
}
