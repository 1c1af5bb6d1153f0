package dev.peco4j.nn;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Tensor;

/** Group normalization of x (N, C, *) over G channel groups, with a per-channel affine. */
public final class GroupNorm extends Module {
    public final int groups, channels;
    public final double eps;
    public final Tensor weight, bias;

    public GroupNorm(int groups, int channels) {
        this(groups, channels, 1e-5, true);
    }

    public GroupNorm(int groups, int channels, double eps, boolean affine) {
        if (groups < 1 || channels % groups != 0) {
            throw new IllegalArgumentException("GroupNorm: " + channels + " channels cannot be split into " + groups + " groups");
        }
        this.groups = groups;
        this.channels = channels;
        this.eps = eps;
        this.weight = affine ? parameter("weight", Tensor.ones(DType.FLOAT32, channels)) : null;
        this.bias = affine ? parameter("bias", Tensor.zeros(DType.FLOAT32, channels)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.groupNorm(x, groups, weight, bias, eps);
    }

    @Override
    protected String extraRepr() {
        return groups + ", " + channels + ", eps=" + eps + ", affine=" + (weight != null);
    }
}
