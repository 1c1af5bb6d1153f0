package dev.peco4j.tensor;

/**
 * Reference GEMM and direct 2-D convolution, in double.
 *
 * <p>Letters: N batch, C input channels, O output channels, G groups (Cg = C/G, Og = O/G),
 * H×W input, KH×KW kernel, OH×OW output. x is (N,C,H,W), w is (O,Cg,KH,KW), y is (N,O,OH,OW).
 *
 * <p>The three convolution kernels share one loop nest ({@link #convLoop}) that visits every
 * (input, weight, output) triple once; they differ only in which of the three is accumulated.
 */
final class ScalarConv {
    private ScalarConv() {}

    /** a (B,n,k) · b (B,k,m) → (B,n,m). */
    static Tensor bmm(Tensor a, Tensor b) {
        int batch = a.size(0), n = a.size(1), k = a.size(2), m = b.size(2);
        double[] as = a.toDoubleArray(), bs = b.toDoubleArray();
        double[] c = new double[batch * n * m];
        for (int p = 0; p < batch; p++) {
            int ao = p * n * k, bo = p * k * m, co = p * n * m;
            for (int i = 0; i < n; i++) {
                for (int l = 0; l < k; l++) {
                    double av = as[ao + i * k + l];
                    if (av == 0) continue;
                    int brow = bo + l * m, crow = co + i * m;
                    for (int j = 0; j < m; j++) c[crow + j] += av * bs[brow + j];
                }
            }
        }
        return Tensor.fromDoubles(a.dtype(), Shape.of(batch, n, m), c);
    }

    private enum Accumulate { OUTPUT, INPUT, WEIGHT }

    /** Sizes of one convolution: x is (N,C,H,W), w is (O,Cg,KH,KW), y is (N,O,OH,OW). */
    private record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int oh, int ow, Conv2dParams p) {
        static Geometry of(Shape x, Shape w, Shape y, Conv2dParams p) {
            return new Geometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3),
                    y.dim(2), y.dim(3), p);
        }
    }

    static Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        Shape ys = Shape.of(x.size(0), w.size(0),
                Conv2dParams.convOut(x.size(2), w.size(2), p.strideH(), p.padH(), p.dilationH()),
                Conv2dParams.convOut(x.size(3), w.size(3), p.strideW(), p.padW(), p.dilationW()));
        double[] y = new double[ys.numel()];
        convLoop(Geometry.of(x.shape(), w.shape(), ys, p), x.toDoubleArray(), w.toDoubleArray(), y, Accumulate.OUTPUT);
        return Tensor.fromDoubles(x.dtype(), ys, y);
    }

    static Tensor conv2dBackwardInput(Tensor g, Tensor w, Shape xs, Conv2dParams p) {
        double[] dx = new double[xs.numel()];
        convLoop(Geometry.of(xs, w.shape(), g.shape(), p), dx, w.toDoubleArray(), g.toDoubleArray(), Accumulate.INPUT);
        return Tensor.fromDoubles(g.dtype(), xs, dx);
    }

    static Tensor conv2dBackwardWeight(Tensor g, Tensor x, Shape ws, Conv2dParams p) {
        double[] dw = new double[ws.numel()];
        convLoop(Geometry.of(x.shape(), ws, g.shape(), p), x.toDoubleArray(), dw, g.toDoubleArray(), Accumulate.WEIGHT);
        return Tensor.fromDoubles(g.dtype(), ws, dw);
    }

    /** Visits y[n,o,oh,ow] ~ x[n, grp·Cg+c, oh·s−p+kh·d, ow·s−p+kw·d] · w[o,c,kh,kw] and accumulates one of them. */
    private static void convLoop(Geometry s, double[] x, double[] w, double[] y, Accumulate mode) {
        Conv2dParams p = s.p();
        int cg = s.c() / p.groups(), og = s.o() / p.groups();
        for (int n = 0; n < s.n(); n++) {
            for (int o = 0; o < s.o(); o++) {
                int grp = o / og;
                int yBase = (n * s.o() + o) * s.oh() * s.ow();
                for (int c = 0; c < cg; c++) {
                    int xBase = (n * s.c() + grp * cg + c) * s.h() * s.w();
                    for (int kh = 0; kh < s.kh(); kh++) {
                        for (int kw = 0; kw < s.kw(); kw++) {
                            int wi = ((o * cg + c) * s.kh() + kh) * s.kw() + kw;
                            for (int oh = 0; oh < s.oh(); oh++) {
                                int ih = oh * p.strideH() - p.padH() + kh * p.dilationH();
                                if (ih < 0 || ih >= s.h()) continue;
                                for (int ow = 0; ow < s.ow(); ow++) {
                                    int iw = ow * p.strideW() - p.padW() + kw * p.dilationW();
                                    if (iw < 0 || iw >= s.w()) continue;
                                    int xi = xBase + ih * s.w() + iw, yi = yBase + oh * s.ow() + ow;
                                    switch (mode) {
                                        case OUTPUT -> y[yi] += x[xi] * w[wi];
                                        case INPUT -> x[xi] += y[yi] * w[wi];
                                        case WEIGHT -> w[wi] += y[yi] * x[xi];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
