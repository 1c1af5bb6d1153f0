package dev.peco4j.tensor;

/**
 * Reference 2-D pooling in double, over planes of (N·C) images. x is (N,C,H,W), y is (N,C,OH,OW).
 * Window bounds follow PyTorch exactly, including ceil mode and count_include_pad.
 */
final class ScalarPool {
    private ScalarPool() {}

    /** [start, end) of window i along one axis, clipped to the input; {@code padded} is the divisor span. */
    private record Window(int start, int end, int padded) {}

    private static Window avgWindow(int i, int stride, int pad, int k, int in) {
        int start = i * stride - pad;
        int end = Math.min(start + k, in + pad);
        int padded = end - start;
        return new Window(Math.max(start, 0), Math.min(end, in), padded);
    }

    static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        int planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3), oh = p.outH(h), ow = p.outW(w);
        double[] v = x.toDoubleArray(), y = new double[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                Window wh = avgWindow(i, p.strideH(), p.padH(), p.kernelH(), h);
                for (int j = 0; j < ow; j++) {
                    Window ww = avgWindow(j, p.strideW(), p.padW(), p.kernelW(), w);
                    double s = 0;
                    for (int a = wh.start(); a < wh.end(); a++) {
                        for (int b = ww.start(); b < ww.end(); b++) s += v[(pl * h + a) * w + b];
                    }
                    y[(pl * oh + i) * ow + j] = s / divisor(wh, ww, p);
                }
            }
        }
        return Tensor.fromDoubles(x.dtype(), Shape.of(x.size(0), x.size(1), oh, ow), y);
    }

    static Tensor avgPool2dBackward(Tensor g, Shape xs, Pool2dParams p) {
        int planes = xs.dim(0) * xs.dim(1), h = xs.dim(2), w = xs.dim(3), oh = g.size(2), ow = g.size(3);
        double[] gs = g.toDoubleArray(), dx = new double[xs.numel()];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                Window wh = avgWindow(i, p.strideH(), p.padH(), p.kernelH(), h);
                for (int j = 0; j < ow; j++) {
                    Window ww = avgWindow(j, p.strideW(), p.padW(), p.kernelW(), w);
                    double share = gs[(pl * oh + i) * ow + j] / divisor(wh, ww, p);
                    for (int a = wh.start(); a < wh.end(); a++) {
                        for (int b = ww.start(); b < ww.end(); b++) dx[(pl * h + a) * w + b] += share;
                    }
                }
            }
        }
        return Tensor.fromDoubles(g.dtype(), xs, dx);
    }

    private static int divisor(Window wh, Window ww, Pool2dParams p) {
        return p.countIncludePad() ? wh.padded() * ww.padded()
                : (wh.end() - wh.start()) * (ww.end() - ww.start());
    }

    static Tensor[] maxPool2d(Tensor x, Pool2dParams p) {
        int planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3), oh = p.outH(h), ow = p.outW(w);
        double[] v = x.toDoubleArray(), y = new double[planes * oh * ow];
        int[] arg = new int[y.length];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double best = Double.NEGATIVE_INFINITY;
                    int at = -1;
                    for (int a = 0; a < p.kernelH(); a++) {
                        int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                        if (ih < 0 || ih >= h) continue;
                        for (int b = 0; b < p.kernelW(); b++) {
                            int iw = j * p.strideW() - p.padW() + b * p.dilationW();
                            if (iw < 0 || iw >= w) continue;
                            double e = v[(pl * h + ih) * w + iw];
                            if (at < 0 || e > best || Double.isNaN(e) && !Double.isNaN(best)) {
                                best = e;
                                at = ih * w + iw;
                            }
                        }
                    }
                    y[(pl * oh + i) * ow + j] = best;
                    arg[(pl * oh + i) * ow + j] = at;
                }
            }
        }
        Shape ys = Shape.of(x.size(0), x.size(1), oh, ow);
        return new Tensor[] {Tensor.fromDoubles(x.dtype(), ys, y),
            new Tensor(Storage.wrap(DType.INT32, arg), ys, ys.contiguousStrides(), 0)};
    }

    static Tensor maxPool2dBackward(Tensor g, Tensor indices, Shape xs) {
        int planes = xs.dim(0) * xs.dim(1), plane = xs.dim(2) * xs.dim(3), outPlane = g.size(2) * g.size(3);
        double[] gs = g.toDoubleArray(), dx = new double[xs.numel()];
        int[] idx = indices.toIntArray();
        for (int pl = 0; pl < planes; pl++) {
            for (int k = 0; k < outPlane; k++) {
                int at = idx[pl * outPlane + k];
                if (at >= 0) dx[pl * plane + at] += gs[pl * outPlane + k];
            }
        }
        return Tensor.fromDoubles(g.dtype(), xs, dx);
    }

    /** Adaptive window i of n over an axis of size in: [floor(i·in/n), ceil((i+1)·in/n)). */
    private static int adaptiveStart(int i, int n, int in) {
        return (int) Math.floorDiv((long) i * in, n);
    }

    private static int adaptiveEnd(int i, int n, int in) {
        return (int) -Math.floorDiv(-(long) (i + 1) * in, n);
    }

    static Tensor adaptiveAvgPool2d(Tensor x, int oh, int ow) {
        int planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
        double[] v = x.toDoubleArray(), y = new double[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                int h0 = adaptiveStart(i, oh, h), h1 = adaptiveEnd(i, oh, h);
                for (int j = 0; j < ow; j++) {
                    int w0 = adaptiveStart(j, ow, w), w1 = adaptiveEnd(j, ow, w);
                    double s = 0;
                    for (int a = h0; a < h1; a++) for (int b = w0; b < w1; b++) s += v[(pl * h + a) * w + b];
                    y[(pl * oh + i) * ow + j] = s / ((h1 - h0) * (w1 - w0));
                }
            }
        }
        return Tensor.fromDoubles(x.dtype(), Shape.of(x.size(0), x.size(1), oh, ow), y);
    }

    static Tensor adaptiveAvgPool2dBackward(Tensor g, Shape xs) {
        int planes = xs.dim(0) * xs.dim(1), h = xs.dim(2), w = xs.dim(3), oh = g.size(2), ow = g.size(3);
        double[] gs = g.toDoubleArray(), dx = new double[xs.numel()];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                int h0 = adaptiveStart(i, oh, h), h1 = adaptiveEnd(i, oh, h);
                for (int j = 0; j < ow; j++) {
                    int w0 = adaptiveStart(j, ow, w), w1 = adaptiveEnd(j, ow, w);
                    double share = gs[(pl * oh + i) * ow + j] / ((h1 - h0) * (w1 - w0));
                    for (int a = h0; a < h1; a++) for (int b = w0; b < w1; b++) dx[(pl * h + a) * w + b] += share;
                }
            }
        }
        return Tensor.fromDoubles(g.dtype(), xs, dx);
    }
}
