package dev.peco4j.tensor;

/**
 * 2-D convolution and transposed convolution, NCHW. The two are adjoint: the forward of one is the
 * input-backward of the other, so three kernels (forward, backward-input, backward-weight) serve both.
 *
 * <p>conv2d: x (N,C,H,W), w (O, C/G, KH, KW) → (N,O,OH,OW).
 * conv_transpose2d: x (N,C,H,W), w (C, O/G, KH, KW) → (N,O,OH,OW), as PyTorch stores it.
 */
public final class ConvOps {
    private ConvOps() {}

    static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        check4d("conv2d", x, w);
        int g = p.groups();
        if (x.size(1) != w.size(1) * g || w.size(0) % g != 0) {
            throw new IllegalArgumentException("conv2d: input " + x.shape() + " has " + x.size(1) + " channels but weight "
                    + w.shape() + " with groups=" + g + " expects " + w.size(1) * g
                    + (w.size(0) % g != 0 ? " (and " + w.size(0) + " output channels are not divisible by groups)" : ""));
        }
        int oh = Conv2dParams.convOut(x.size(2), w.size(2), p.strideH(), p.padH(), p.dilationH());
        int ow = Conv2dParams.convOut(x.size(3), w.size(3), p.strideW(), p.padW(), p.dilationW());
        if (oh <= 0 || ow <= 0) {
            throw new IllegalArgumentException("conv2d: input " + x.shape() + " is too small for kernel "
                    + w.size(2) + "x" + w.size(3) + " with " + p + " (output " + oh + "x" + ow + ")");
        }
        Tensor y = Backends.on("conv2d", x, w).conv2d(x, w, p);
        y = Autograd.record(Op.CONV2D, y, (gy, n) -> new Tensor[] {
            n[0] ? Backends.on("conv2d", gy, w).conv2dBackwardInput(gy, w, x.shape(), p) : null,
            n[1] ? Backends.on("conv2d", gy, x).conv2dBackwardWeight(gy, x, w.shape(), p) : null}, x, w);
        return addBias(y, bias, w.size(0), "conv2d");
    }

    static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        check4d("conv_transpose2d", x, w);
        int g = p.groups();
        if (x.size(1) != w.size(0) || w.size(0) % g != 0) {
            throw new IllegalArgumentException("conv_transpose2d: input " + x.shape() + " has " + x.size(1)
                    + " channels but weight " + w.shape() + " expects " + w.size(0) + " (divisible by groups=" + g + ")");
        }
        int oh = Conv2dParams.transposeOut(x.size(2), w.size(2), p.strideH(), p.padH(), p.dilationH(), p.outputPadH());
        int ow = Conv2dParams.transposeOut(x.size(3), w.size(3), p.strideW(), p.padW(), p.dilationW(), p.outputPadW());
        if (oh <= 0 || ow <= 0) {
            throw new IllegalArgumentException("conv_transpose2d: output would be " + oh + "x" + ow + " for input "
                    + x.shape() + " and weight " + w.shape());
        }
        Shape out = Shape.of(x.size(0), w.size(1) * g, oh, ow);
        // the forward of a transposed convolution is the input-gradient of the convolution it transposes
        Tensor y = Backends.on("conv_transpose2d", x, w).conv2dBackwardInput(x, w, out, p);
        y = Autograd.record(Op.CONV_TRANSPOSE2D, y, (gy, n) -> new Tensor[] {
            n[0] ? transposeInputGrad(gy, w, x.shape(), p) : null,
            n[1] ? Backends.on("conv_transpose2d", x, gy).conv2dBackwardWeight(x, gy, w.shape(), p) : null}, x, w);
        return addBias(y, bias, out.dim(1), "conv_transpose2d");
    }

    /**
     * The input gradient of a transposed convolution is the convolution of its output gradient. When
     * output padding reaches the stride, that convolution yields extra trailing rows/columns that
     * no input position produced; the leading block is the gradient.
     */
    private static Tensor transposeInputGrad(Tensor gy, Tensor w, Shape xs, Conv2dParams p) {
        Tensor dx = Backends.on("conv_transpose2d", gy, w).conv2d(gy, w, p);
        return dx.shape().equals(xs) ? dx : Backends.on(dx).copy(dx.slicePrefix(xs.dims()), dx.dtype());
    }

    private static Tensor addBias(Tensor y, Tensor bias, int channels, String op) {
        if (bias == null) return y;
        if (bias.dim() != 1 || bias.size(0) != channels) {
            throw new IllegalArgumentException(op + ": bias must have shape [" + channels + "], got " + bias.shape());
        }
        return y.add(bias.reshape(1, channels, 1, 1));
    }

    private static void check4d(String op, Tensor x, Tensor w) {
        if (x.dim() != 4) throw new IllegalArgumentException(op + ": input must be (N, C, H, W), got " + x.shape());
        if (w.dim() != 4) throw new IllegalArgumentException(op + ": weight must have 4 dims, got " + w.shape());
        if (x.dtype() != w.dtype() || !x.dtype().isFloating()) {
            throw new IllegalArgumentException(op + ": input " + x.dtype() + " and weight " + w.dtype()
                    + " must be the same floating dtype");
        }
    }
}
