package dev.peco4j.tensor;

/**
 * Layer-level functions, as {@code torch.nn.functional}: linear, convolutions, pooling,
 * normalizations, losses, dropout, embedding. Primitives among them record their own nodes;
 * the rest are composed.
 *
 * <pre>{@code
 * Tensor h = Functional.conv2d(x, w, b, Conv2dParams.of(1, 1, 1, 1));   // 3x3, padding 1
 * Tensor loss = Functional.crossEntropy(logits, labels, 0.1);           // label smoothing 0.1
 * }</pre>
 */
public final class Functional {
    private Functional() {}

    /**
     * softmax(q·kᵀ·scale + bias, masked keys excluded)·v, fused and blocked; q (B,H,N,D), k (B,H,M,D),
     * v (B,H,M,E); bias (optional) broadcasts to (B,H,N,M); keyMask (optional) bool (B,M), true = attend.
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scale) {
        return AttentionOps.sdpa(q, k, v, bias, keyMask, scale);
    }

    /** x·wᵀ + b; w is (out, in); b may be null. */
    public static Tensor linear(Tensor x, Tensor w, Tensor b) {
        return MatmulOps.linear(x, w, b);
    }

    /** act(x·wᵀ + b) in one primitive: bias and activation are applied as the GEMM writes each tile. */
    public static Tensor linear(Tensor x, Tensor w, Tensor b, Activation act) {
        return MatmulOps.linear(x, w, b, act);
    }

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        return ConvOps.conv2d(x, w, bias, p);
    }

    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        return ConvOps.convTranspose2d(x, w, bias, p);
    }

    public static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        return PoolOps.avgPool2d(x, p);
    }

    public static Tensor maxPool2d(Tensor x, Pool2dParams p) {
        return PoolOps.maxPool2d(x, p);
    }

    public static ReduceOps.ValuesIndices maxPool2dWithIndices(Tensor x, Pool2dParams p) {
        return PoolOps.maxPool2dWithIndices(x, p);
    }

    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return PoolOps.adaptiveAvgPool2d(x, outH, outW);
    }

    public static Tensor upsampleNearest(Tensor x, int scale) {
        return PoolOps.upsampleNearest(x, scale);
    }

    /**
     * For each row of z (N, D), the index (int32, N) of the nearest row of codes (K, D) by squared
     * Euclidean distance, ‖z‖² + ‖e‖² − 2·z·e; ties to the lowest index. See {@link MatmulOps#nearestRows}.
     */
    public static Tensor nearestRows(Tensor z, Tensor codes) {
        return MatmulOps.nearestRows(z, codes);
    }

    /** Normalizes the last {@code normalizedDims} dims; weight and bias may be null. */
    public static Tensor layerNorm(Tensor x, int normalizedDims, Tensor weight, Tensor bias, double eps) {
        return NormOps.layerNorm(x, normalizedDims, weight, bias, eps);
    }

    public static Tensor groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, double eps) {
        return NormOps.groupNorm(x, groups, weight, bias, eps);
    }

    public static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, double momentum, double eps) {
        return NormOps.batchNorm(x, runningMean, runningVar, weight, bias, training, momentum, eps);
    }

    /** Mean cross-entropy over class indices, with label smoothing; no target is ignored but -100. */
    public static Tensor crossEntropy(Tensor logits, Tensor target, double labelSmoothing) {
        return LossOps.crossEntropy(logits, target, labelSmoothing, -100, LossOps.Reduction.MEAN);
    }

    public static Tensor crossEntropy(Tensor logits, Tensor target, double labelSmoothing, int ignoreIndex,
                                      LossOps.Reduction reduction) {
        return LossOps.crossEntropy(logits, target, labelSmoothing, ignoreIndex, reduction);
    }

    public static Tensor mseLoss(Tensor input, Tensor target) {
        return LossOps.mse(input, target, LossOps.Reduction.MEAN);
    }

    public static Tensor mseLoss(Tensor input, Tensor target, LossOps.Reduction reduction) {
        return LossOps.mse(input, target, reduction);
    }

    public static Tensor l1Loss(Tensor input, Tensor target) {
        return LossOps.l1(input, target, LossOps.Reduction.MEAN);
    }

    public static Tensor l1Loss(Tensor input, Tensor target, LossOps.Reduction reduction) {
        return LossOps.l1(input, target, reduction);
    }

    public static Tensor dropout(Tensor x, double p, boolean training, Generator gen) {
        return LossOps.dropout(x, p, training, gen);
    }

    public static Tensor embedding(Tensor weight, Tensor indices) {
        return IndexOps.embedding(weight, indices);
    }
}
