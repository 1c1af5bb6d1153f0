package dev.peco4j.tensor;

/**
 * Normalization layers' functional forms, composed from primitives (their gradients follow):
 * layer norm over the trailing dims, group norm over channel groups, batch norm with running
 * statistics. Letters: N batch, C channels, G groups, * any spatial dims.
 */
public final class NormOps {
    private NormOps() {}

    /** (x − mean)/√(var + eps) over the last {@code normalizedDims} dims, then ·weight + bias (either may be null). */
    static Tensor layerNorm(Tensor x, int normalizedDims, Tensor weight, Tensor bias, double eps) {
        if (normalizedDims < 1 || normalizedDims > x.dim()) {
            throw new IllegalArgumentException("layer_norm: cannot normalize the last " + normalizedDims + " dims of " + x.shape());
        }
        int[] dims = new int[normalizedDims];
        for (int i = 0; i < normalizedDims; i++) dims[i] = x.dim() - normalizedDims + i;
        Tensor mean = x.mean(dims, true);
        Tensor var = x.var(dims, 0, true);
        Tensor y = x.sub(mean).mul(var.add(eps).rsqrt());
        int[] trailing = java.util.Arrays.copyOfRange(x.shape().dims(), x.dim() - normalizedDims, x.dim());
        checkAffine("layer_norm", weight, trailing);
        checkAffine("layer_norm", bias, trailing);
        if (weight != null) y = y.mul(weight);
        if (bias != null) y = y.add(bias);
        return y;
    }

    /** x (N, C, *) normalized within each of G channel groups, then a per-channel affine. */
    static Tensor groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, double eps) {
        if (x.dim() < 2 || groups < 1 || x.size(1) % groups != 0) {
            throw new IllegalArgumentException("group_norm: the channels (dim 1) of " + x.shape()
                    + " cannot be split into " + groups + " groups");
        }
        int n = x.size(0), c = x.size(1);
        Tensor g = x.reshape(n, groups, -1);                     // (N, G, C/G·*)
        Tensor mean = g.mean(new int[] {2}, true);
        Tensor var = g.var(new int[] {2}, 0, true);
        Tensor y = g.sub(mean).mul(var.add(eps).rsqrt()).reshape(x.shape().dims());
        return channelAffine("group_norm", y, weight, bias, c);
    }

    /**
     * Batch norm over (N, *) for each channel of x (N, C, *). In training it normalizes with the batch
     * statistics and updates the running ones in place (momentum; the running variance is unbiased);
     * in eval it uses the running statistics. Running tensors may be null (always batch statistics).
     */
    static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                            boolean training, double momentum, double eps) {
        if (x.dim() < 2) throw new IllegalArgumentException("batch_norm: input must be (N, C, *), got " + x.shape());
        int c = x.size(1);
        int[] dims = new int[x.dim() - 1];
        dims[0] = 0;
        for (int i = 2; i < x.dim(); i++) dims[i - 1] = i;
        int[] channelShape = new int[x.dim()];
        java.util.Arrays.fill(channelShape, 1);
        channelShape[1] = c;
        Tensor mean, var;
        if (training || runningMean == null) {
            mean = x.mean(dims, true);
            var = x.var(dims, 0, true);
            int count = x.numel() / Math.max(1, c);
            if (training && count <= 1) {
                throw new IllegalArgumentException("batch_norm: need more than 1 value per channel in training, got input " + x.shape());
            }
            if (training && runningMean != null) {
                try (var ignored = Autograd.noGrad()) {
                    Tensor unbiased = var.detach().mul((double) count / (count - 1)).reshape(c);
                    runningMean.mulInPlace(1 - momentum).addInPlace(mean.detach().reshape(c), momentum);
                    runningVar.mulInPlace(1 - momentum).addInPlace(unbiased, momentum);
                }
            }
        } else {
            mean = runningMean.reshape(channelShape);
            var = runningVar.reshape(channelShape);
        }
        Tensor y = x.sub(mean).mul(var.add(eps).rsqrt());
        return channelAffine("batch_norm", y, weight, bias, c);
    }

    private static Tensor channelAffine(String op, Tensor y, Tensor weight, Tensor bias, int c) {
        checkAffine(op, weight, new int[] {c});
        checkAffine(op, bias, new int[] {c});
        int[] shape = new int[y.dim()];
        java.util.Arrays.fill(shape, 1);
        shape[1] = c;
        if (weight != null) y = y.mul(weight.reshape(shape));
        if (bias != null) y = y.add(bias.reshape(shape));
        return y;
    }

    private static void checkAffine(String op, Tensor t, int[] expected) {
        if (t != null && !t.shape().equals(Shape.of(expected))) {
            throw new IllegalArgumentException(op + ": affine parameter has shape " + t.shape() + ", expected "
                    + Shape.of(expected));
        }
    }
}
