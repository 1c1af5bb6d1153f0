package dev.peco4j.tensor;

/**
 * Geometry of a 2-D convolution (also of its transpose): stride, zero padding, dilation, groups,
 * and, for the transpose only, the extra rows/columns added on one side of the output.
 */
public record Conv2dParams(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups,
                           int outputPadH, int outputPadW) {
    public Conv2dParams {
        require(strideH >= 1 && strideW >= 1, "stride must be >= 1, got " + strideH + "x" + strideW);
        require(padH >= 0 && padW >= 0, "padding must be >= 0, got " + padH + "x" + padW);
        require(dilationH >= 1 && dilationW >= 1, "dilation must be >= 1, got " + dilationH + "x" + dilationW);
        require(groups >= 1, "groups must be >= 1, got " + groups);
        require(outputPadH >= 0 && outputPadW >= 0, "output padding must be >= 0");
        require(outputPadH < Math.max(strideH, dilationH) && outputPadW < Math.max(strideW, dilationW),
                "output padding must be smaller than stride or dilation");
    }

    /** Square stride, padding and dilation. */
    public static Conv2dParams of(int stride, int padding, int dilation, int groups) {
        return new Conv2dParams(stride, stride, padding, padding, dilation, dilation, groups, 0, 0);
    }

    public Conv2dParams withOutputPadding(int h, int w) {
        return new Conv2dParams(strideH, strideW, padH, padW, dilationH, dilationW, groups, h, w);
    }

    /** Output size of a convolution along one axis. */
    static int convOut(int in, int k, int stride, int pad, int dilation) {
        return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
    }

    /** Output size of a transposed convolution along one axis. */
    static int transposeOut(int in, int k, int stride, int pad, int dilation, int outPad) {
        return (in - 1) * stride - 2 * pad + dilation * (k - 1) + outPad + 1;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException("conv2d: " + message);
    }
}
