package dev.peco4j.tensor;

/** Geometry of a 2-D pooling window, with PyTorch's ceil_mode and count_include_pad. */
public record Pool2dParams(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW,
                           int dilationH, int dilationW, boolean ceilMode, boolean countIncludePad) {
    public Pool2dParams {
        require(kernelH >= 1 && kernelW >= 1, "kernel must be >= 1, got " + kernelH + "x" + kernelW);
        require(strideH >= 1 && strideW >= 1, "stride must be >= 1, got " + strideH + "x" + strideW);
        require(padH >= 0 && padW >= 0, "padding must be >= 0, got " + padH + "x" + padW);
        require(padH * 2 <= kernelH && padW * 2 <= kernelW,
                "padding " + padH + "x" + padW + " must be at most half the kernel " + kernelH + "x" + kernelW);
        require(dilationH >= 1 && dilationW >= 1, "dilation must be >= 1");
    }

    /** Square window; stride defaults to the kernel size in PyTorch, pass it explicitly here. */
    public static Pool2dParams of(int kernel, int stride, int padding) {
        return new Pool2dParams(kernel, kernel, stride, stride, padding, padding, 1, 1, false, true);
    }

    public Pool2dParams withCeilMode(boolean ceil) {
        return new Pool2dParams(kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, ceil, countIncludePad);
    }

    public Pool2dParams withCountIncludePad(boolean include) {
        return new Pool2dParams(kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode, include);
    }

    public Pool2dParams withDilation(int d) {
        return new Pool2dParams(kernelH, kernelW, strideH, strideW, padH, padW, d, d, ceilMode, countIncludePad);
    }

    int outH(int h) {
        return outSize(h, kernelH, strideH, padH, dilationH);
    }

    int outW(int w) {
        return outSize(w, kernelW, strideW, padW, dilationW);
    }

    /** PyTorch's pooling output size: with ceil mode, the last window must start inside the input or left pad. */
    private int outSize(int in, int k, int stride, int pad, int dil) {
        int span = in + 2 * pad - dil * (k - 1) - 1;
        if (span < 0) return 0;
        int out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceilMode && (out - 1) * stride >= in + pad) out--;
        return out;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException("pool2d: " + message);
    }
}
