package dev.peco4j.tensor;

/**
 * Float32 convolution as im2col + {@link Sgemm}. Letters: N batch, C channels (Cg per group), O
 * output channels (Og per group), H×W input, KH×KW kernel, P = OH·OW output positions, R = Cg·KH·KW.
 * For image n and group g: y_ng (Og×P) = W_g (Og×R) · cols_ng (R×P).
 *
 * <p>Forward and input-backward run one image per thread; the weight gradient sums the images in
 * order, one GEMM each (threads split its rows), so all three are bit-identical for any thread count.
 * Chosen over implicit GEMM because it reuses the tuned SGEMM as is; 1×1 stride-1 convolutions skip
 * the im2col copy.
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
        Conv2dParams p = s.p();
        int P = s.positions();
        for (int c = 0; c < s.cg(); c++) {
            int plane = xo + (n * s.c() + g * s.cg() + c) * s.h() * s.w();
            for (int a = 0; a < s.kh(); a++) {
                for (int b = 0; b < s.kw(); b++) {
                    int row = ((c * s.kh() + a) * s.kw() + b) * P;
                    for (int i = 0; i < s.oh(); i++) {
                        int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                        int dst = row + i * s.ow();
                        if (ih < 0 || ih >= s.h()) {
                            java.util.Arrays.fill(cols, dst, dst + s.ow(), 0f);
                            continue;
                        }
                        int src = plane + ih * s.w();
                        for (int j = 0; j < s.ow(); j++) {
                            int iw = j * p.strideW() - p.padW() + b * p.dilationW();
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
                    for (int i = 0; i < s.oh(); i++) {
                        int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                        if (ih < 0 || ih >= s.h()) continue;
                        int src = row + i * s.ow(), dst = plane + ih * s.w();
                        for (int j = 0; j < s.ow(); j++) {
                            int iw = j * p.strideW() - p.padW() + b * p.dilationW();
                            if (iw >= 0 && iw < s.w()) dx[dst + iw] += cols[src + j];
                        }
                    }
                }
            }
        }
    }

    private static float[] contiguous(Tensor t) {
        return t.contiguousData();
    }

    static Tensor forward(Tensor xt, Tensor wt, Conv2dParams p, Parallel par) {
        int oh = Conv2dParams.convOut(xt.size(2), wt.size(2), p.strideH(), p.padH(), p.dilationH());
        int ow = Conv2dParams.convOut(xt.size(3), wt.size(3), p.strideW(), p.padW(), p.dilationW());
        Geo s = geo(xt.shape(), wt.shape(), oh, ow, p);
        float[] x = contiguous(xt), w = contiguous(wt);
        float[] y = new float[s.n() * s.o() * s.positions()];
        int P = s.positions(), R = s.rows();
        boolean perImage = s.n() >= par.threads();
        Parallel inner = perImage ? Parallel.SERIAL : par;
        (perImage ? par : Parallel.SERIAL).forRange(s.n(), 1, (from, to) -> {
            float[] cols = s.pointwise() ? null : new float[R * P];
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
        Geo s = geo(xs, wt.shape(), gt.size(2), gt.size(3), p);
        float[] g = contiguous(gt), w = contiguous(wt);
        float[] dx = new float[xs.numel()];
        int P = s.positions(), R = s.rows();
        boolean perImage = s.n() >= par.threads();
        Parallel inner = perImage ? Parallel.SERIAL : par;
        (perImage ? par : Parallel.SERIAL).forRange(s.n(), 1, (from, to) -> {
            float[] cols = new float[R * P];
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

    static Tensor backwardWeight(Tensor gt, Tensor xt, Shape ws, Conv2dParams p, Parallel par) {
        Geo s = geo(xt.shape(), ws, gt.size(2), gt.size(3), p);
        float[] g = contiguous(gt), x = contiguous(xt);
        float[] dw = new float[ws.numel()];
        int P = s.positions(), R = s.rows();
        float[] cols = s.pointwise() ? null : new float[R * P];
        for (int n = 0; n < s.n(); n++) {         // images in order: a fixed summation order
            for (int grp = 0; grp < s.groups(); grp++) {
                Sgemm.Mat colsT;                   // colsᵀ (P×R) through strides
                if (s.pointwise()) {
                    colsT = new Sgemm.Mat(x, (n * s.c() + grp * s.cg()) * P, 1, P);
                } else {
                    im2col(s, x, 0, n, grp, cols);
                    colsT = new Sgemm.Mat(cols, 0, 1, P);
                }
                // dW_g (Og×R) += dy_ng (Og×P) · colsᵀ (P×R)
                Sgemm.gemm(s.og(), R, P, new Sgemm.Mat(g, (n * s.o() + grp * s.og()) * P, P, 1), colsT,
                        dw, grp * s.og() * R, R, n > 0, par);
            }
        }
        return new Tensor(Storage.wrap(dw), ws, ws.contiguousStrides(), 0);
    }
}
