package dev.peco4j.nn;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Tensor;
import java.util.Arrays;

/** Layer normalization over the trailing dims {@code normalizedShape}, with an elementwise affine. */
public final class LayerNorm extends Module {
    public final int[] normalizedShape;
    public final double eps;
    public final Tensor weight, bias;

    public LayerNorm(int dim) {
        this(new int[] {dim}, 1e-5, true);
    }

    public LayerNorm(int dim, double eps) {
        this(new int[] {dim}, eps, true);
    }

    public LayerNorm(int[] normalizedShape, double eps, boolean affine) {
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        this.weight = affine ? parameter("weight", Tensor.ones(DType.FLOAT32, normalizedShape)) : null;
        this.bias = affine ? parameter("bias", Tensor.zeros(DType.FLOAT32, normalizedShape)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        int k = normalizedShape.length;
        if (x.dim() < k || !Arrays.equals(Arrays.copyOfRange(x.shape().dims(), x.dim() - k, x.dim()), normalizedShape)) {
            throw new IllegalArgumentException("LayerNorm: input " + x.shape() + " does not end in " + Arrays.toString(normalizedShape));
        }
        return Functional.layerNorm(x, k, weight, bias, eps);
    }

    @Override
    protected String extraRepr() {
        return Arrays.toString(normalizedShape) + ", eps=" + eps + ", elementwise_affine=" + (weight != null);
    }
}
