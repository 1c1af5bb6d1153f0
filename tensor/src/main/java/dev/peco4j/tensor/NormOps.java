package dev.peco4j.tensor;

/**
 * Normalization layers' functional forms: layer norm over the trailing dims and group norm over
 * channel groups are primitives (a fused kernel pair each); batch norm with running statistics is
 * composed from primitives (its gradient follows). Letters: N batch, C channels, G groups, * any
 * spatial dims.
 */
public final class NormOps {
    private NormOps() {}

    /**
     * (x − mean)/√(var + eps) over the last {@code normalizedDims} dims, then ·weight + bias (either may
     * be null). A primitive: one fused kernel each way, forward saving mean and rstd per row.
     */
    static Tensor layerNorm(Tensor x, int normalizedDims, Tensor weight, Tensor bias, double eps) {
        if (normalizedDims < 1 || normalizedDims > x.dim()) {
            throw new IllegalArgumentException("layer_norm: cannot normalize the last " + normalizedDims + " dims of " + x.shape());
        }
        UnaryOps.requireFloating(x, "layer_norm");
        int[] trailing = java.util.Arrays.copyOfRange(x.shape().dims(), x.dim() - normalizedDims, x.dim());
        checkAffine("layer_norm", weight, trailing);
        checkAffine("layer_norm", bias, trailing);
        for (Tensor t : new Tensor[] {weight, bias}) {
            if (t != null && t.dtype() != x.dtype()) {
                throw new IllegalArgumentException("layer_norm: affine parameter is " + t.dtype() + ", input is " + x.dtype());
            }
        }
        int d = Shape.of(trailing).numel();
        Tensor[] r = Backends.on("layer_norm", x, weight, bias).layerNorm(x, weight, bias, d, eps);
        Tensor y = r[0], mean = r[1], rstd = r[2];
        Tensor[] inputs = weight == null ? (bias == null ? new Tensor[] {x} : new Tensor[] {x, bias})
                : bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return Autograd.record(Op.LAYER_NORM, y, (g, need) -> {
            Tensor[] gr = Backends.on("layer_norm", g, x).layerNormBackward(g, x, weight, mean, rstd, d);
            Tensor db = bias == null ? null : weight != null ? gr[2] : g.reshape(-1, d).sum(new int[] {0}, false).reshape(trailing);
            if (weight == null) return bias == null ? new Tensor[] {gr[0]} : new Tensor[] {gr[0], db};
            return bias == null ? new Tensor[] {gr[0], gr[1]} : new Tensor[] {gr[0], gr[1], db};
        }, inputs);
    }

    /**
     * x (N, C, *) normalized within each of G channel groups of every image, then ·weight[c] + bias[c]
     * (either may be null). A primitive: one fused kernel each way ({@link GroupNormKernels}).
     */
    static Tensor groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, double eps) {
        if (x.dim() < 2 || groups < 1 || x.size(1) % groups != 0) {
            throw new IllegalArgumentException("group_norm: the channels (dim 1) of " + x.shape()
                    + " cannot be split into " + groups + " groups");
        }
        UnaryOps.requireFloating(x, "group_norm");
        int c = x.size(1);
        checkAffine("group_norm", weight, new int[] {c});
        checkAffine("group_norm", bias, new int[] {c});
        for (Tensor t : new Tensor[] {weight, bias}) {
            if (t != null && t.dtype() != x.dtype()) {
                throw new IllegalArgumentException("group_norm: affine parameter is " + t.dtype() + ", input is " + x.dtype());
            }
        }
        Tensor[] r = Backends.on("group_norm", x, weight, bias).groupNorm(x, weight, bias, groups, eps);
        Tensor mean = r[1], rstd = r[2];
        Tensor[] inputs = weight == null ? (bias == null ? new Tensor[] {x} : new Tensor[] {x, bias})
                : bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return Autograd.record(Op.GROUP_NORM, r[0], (g, need) -> {
            Tensor[] gr = Backends.on("group_norm", g, x).groupNormBackward(g, x, weight, bias, mean, rstd, groups);
            if (weight == null) return bias == null ? new Tensor[] {gr[0]} : new Tensor[] {gr[0], gr[2]};
            return bias == null ? new Tensor[] {gr[0], gr[1]} : new Tensor[] {gr[0], gr[1], gr[2]};
        }, inputs);
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
