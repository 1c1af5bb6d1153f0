package dev.peco4j.tensor;

/**
 * Float32 convolution as im2col + {@link Sgemm} (3×3 same convolutions of up to 64 input channels go
 * to {@link DirectConv}). Letters: N batch, C channels (Cg per group), O output channels (Og per
 * group), H×W input, KH×KW kernel, P = OH·OW output positions, R = Cg·KH·KW.
 * For image n and group g: y_ng (Og×P) = W_g (Og×R) · cols_ng (R×P).
 *
 * <p>Forward and input-backward run one image per thread; the weight gradient is one GEMM per chunk
 * of images (threads split it), summed in a fixed order, so all three are bit-identical for any
 * thread count. Chosen over implicit GEMM because it reuses the tuned SGEMM as is; the forward's
 * 1×1 stride-1 convolutions skip the im2col copy, and 'same' stride-1 ones build it a shifted plane
 * at a time.
 */
final class VectorConv {
    private VectorConv() {}

    private record Geo(int n, int c, int h, int w, int o, int kh, int kw, int oh, int ow, int groups, Conv2dParams p) {
        int cg() { return c / groups; }
        int og() { return o / groups; }
        int positions() { return oh * ow; }
        int rows() { return cg() * kh * kw; }
        boolean pointwise() {
            return kh == 1 && kw == 1 && p.strideH() == 1 && p.strideW() == 1 && p.padH() == 0 && p.padW() == 0;
        }
    }

    private static Geo geo(Shape x, Shape w, int oh, int ow, Conv2dParams p) {
        return new Geo(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3), oh, ow, p.groups(), p);
    }

    /** cols (R×P) of image n, group g, from x (contiguous float array at xo). */
    private static void im2col(Geo s, float[] x, int xo, int n, int g, float[] cols) {
        im2col(s, x, xo, n, g, cols, 0, s.positions());
    }

    /** The same into the P columns from colOff of a matrix with row stride ld (several images side by side). */
    private static void im2col(Geo s, float[] x, int xo, int n, int g, float[] cols, int colOff, int ld) {
        Conv2dParams p = s.p();
        for (int c = 0; c < s.cg(); c++) {
            int plane = xo + (n * s.c() + g * s.cg() + c) * s.h() * s.w();
            for (int a = 0; a < s.kh(); a++) {
                for (int b = 0; b < s.kw(); b++) {
                    int row = colOff + ((c * s.kh() + a) * s.kw() + b) * ld;
                    if (samePlane(s)) {
                        copyShifted(s, x, plane, a * p.dilationH() - p.padH(), b * p.dilationW() - p.padW(), cols, row);
                        continue;
                    }
                    for (int i = 0; i < s.oh(); i++) {
                        int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                        int dst = row + i * s.ow();
                        if (ih < 0 || ih >= s.h()) {
                            java.util.Arrays.fill(cols, dst, dst + s.ow(), 0f);
                            continue;
                        }
                        int src = plane + ih * s.w(), shift = b * p.dilationW() - p.padW();
                        if (p.strideW() == 1) { // iw = j + shift: one copy between the zero-padded edges
                            int j0 = validFrom(shift), j1 = validTo(shift, s.w(), s.ow());
                            java.util.Arrays.fill(cols, dst, dst + j0, 0f);
                            if (j1 > j0) System.arraycopy(x, src + j0 + shift, cols, dst + j0, j1 - j0);
                            java.util.Arrays.fill(cols, dst + Math.max(j0, j1), dst + s.ow(), 0f);
                            continue;
                        }
                        for (int j = 0; j < s.ow(); j++) {
                            int iw = j * p.strideW() + shift;
                            cols[dst + j] = iw >= 0 && iw < s.w() ? x[src + iw] : 0f;
                        }
                    }
                }
            }
        }
    }

    /** Adds cols (R×P) back into dx for image n, group g (the adjoint of im2col). */
    private static void col2im(Geo s, float[] cols, float[] dx, int n, int g) {
        Conv2dParams p = s.p();
        int P = s.positions();
        for (int c = 0; c < s.cg(); c++) {
            int plane = (n * s.c() + g * s.cg() + c) * s.h() * s.w();
            for (int a = 0; a < s.kh(); a++) {
                for (int b = 0; b < s.kw(); b++) {
                    int row = ((c * s.kh() + a) * s.kw() + b) * P;
                    if (samePlane(s)) {
                        addShifted(s, cols, row, a * p.dilationH() - p.padH(), b * p.dilationW() - p.padW(), dx, plane);
                        continue;
                    }
                    for (int i = 0; i < s.oh(); i++) {
                        int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                        if (ih < 0 || ih >= s.h()) continue;
                        int src = row + i * s.ow(), dst = plane + ih * s.w(), shift = b * p.dilationW() - p.padW();
                        if (p.strideW() == 1) { // one vector add over the valid columns; each element gets the same adds in the same order
                            int j0 = validFrom(shift), j1 = validTo(shift, s.w(), s.ow());
                            if (j1 > j0) VectorMath.addInto(cols, src + j0, dx, dst + j0 + shift, j1 - j0);
                            continue;
                        }
                        for (int j = 0; j < s.ow(); j++) {
                            int iw = j * p.strideW() + shift;
                            if (iw >= 0 && iw < s.w()) dx[dst + iw] += cols[src + j];
                        }
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

    /** With stride 1 and iw = j + shift, the first output column whose input column is inside the image. */
    private static int validFrom(int shift) {
        return Math.max(0, -shift);
    }

    /** ... and one past the last (at most ow). */
    private static int validTo(int shift, int w, int ow) {
        return Math.min(ow, w - shift);
    }

    private static float[] contiguous(Tensor t) {
        return t.contiguousData();
    }

    static Tensor forward(Tensor xt, Tensor wt, Conv2dParams p, Parallel par) {
        if (DirectConv.applies(xt.shape(), wt.shape(), p)) return DirectConv.forward(xt, wt, par);
        int oh = Conv2dParams.convOut(xt.size(2), wt.size(2), p.strideH(), p.padH(), p.dilationH());
        int ow = Conv2dParams.convOut(xt.size(3), wt.size(3), p.strideW(), p.padW(), p.dilationW());
        Geo s = geo(xt.shape(), wt.shape(), oh, ow, p);
        float[] x = contiguous(xt), w = contiguous(wt);
        float[] y = new float[s.n() * s.o() * s.positions()];
        int P = s.positions(), R = s.rows();
        boolean perImage = s.n() >= par.threads();
        Parallel inner = perImage ? Parallel.SERIAL : par;
        (perImage ? par : Parallel.SERIAL).forRange(s.n(), 1, (from, to) -> {
            float[] cols = s.pointwise() ? null : Scratch.get().floats(0, R * P);
            for (int n = from; n < to; n++) {
                for (int g = 0; g < s.groups(); g++) {
                    Sgemm.Mat colsMat;
                    if (s.pointwise()) {
                        colsMat = new Sgemm.Mat(x, (n * s.c() + g * s.cg()) * P, P, 1);
                    } else {
                        im2col(s, x, 0, n, g, cols);
                        colsMat = new Sgemm.Mat(cols, 0, P, 1);
                    }
                    Sgemm.gemm(s.og(), P, R, new Sgemm.Mat(w, g * s.og() * R, R, 1), colsMat,
                            y, (n * s.o() + g * s.og()) * P, P, false, inner);
                }
            }
        });
        return new Tensor(Storage.wrap(y), Shape.of(s.n(), s.o(), oh, ow), Shape.of(s.n(), s.o(), oh, ow).contiguousStrides(), 0);
    }

    static Tensor backwardInput(Tensor gt, Tensor wt, Shape xs, Conv2dParams p, Parallel par) {
        if (DirectConv.applies(xs, wt.shape(), p)) return DirectConv.backwardInput(gt, wt, xs, par);
        Geo s = geo(xs, wt.shape(), gt.size(2), gt.size(3), p);
        float[] g = contiguous(gt), w = contiguous(wt);
        float[] dx = new float[xs.numel()];
        int P = s.positions(), R = s.rows();
        boolean perImage = s.n() >= par.threads();
        Parallel inner = perImage ? Parallel.SERIAL : par;
        (perImage ? par : Parallel.SERIAL).forRange(s.n(), 1, (from, to) -> {
            float[] cols = Scratch.get().floats(0, R * P);
            for (int n = from; n < to; n++) {
                for (int grp = 0; grp < s.groups(); grp++) {
                    // cols (R×P) = W_gᵀ (R×Og) · dy_ng (Og×P): W_g read transposed through its strides
                    Sgemm.gemm(R, P, s.og(), new Sgemm.Mat(w, grp * s.og() * R, 1, R),
                            new Sgemm.Mat(g, (n * s.o() + grp * s.og()) * P, P, 1), cols, 0, P, false, inner);
                    col2im(s, cols, dx, n, grp);
                }
            }
        });
        return new Tensor(Storage.wrap(dx), xs, xs.contiguousStrides(), 0);
    }

    /** Floats of the im2col matrix of one chunk of images in the weight gradient (16 MB): bounds memory at 224 px. */
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
        if (DirectConv.applies(xt.shape(), ws, p)) return DirectConv.backwardWeight(gt, xt, ws, par);
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
                im2col(s, x, 0, n0 + i, grp, cols, i * P, ld);
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
        private final float[][] slots = new float[2][0];

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
