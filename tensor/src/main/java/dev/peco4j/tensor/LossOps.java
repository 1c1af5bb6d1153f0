package dev.peco4j.tensor;

/**
 * Losses composed from primitives: cross-entropy over class indices (label smoothing, ignored
 * targets), MSE and L1; and dropout. Letters: N batch, C classes, d… extra dims.
 */
public final class LossOps {
    private LossOps() {}

    /** How a per-element loss is reduced. */
    public enum Reduction { MEAN, SUM, NONE }

    /**
     * PyTorch's cross_entropy: logits (N, C) or (N, C, d…), target int32 (N) or (N, d…).
     * Targets equal to {@code ignoreIndex} contribute nothing and are left out of the mean.
     * With smoothing ε the loss is (1−ε)·nll + ε·mean over classes of −log p.
     */
    static Tensor crossEntropy(Tensor logits, Tensor target, double labelSmoothing, int ignoreIndex, Reduction reduction) {
        if (target.dtype() != DType.INT32) {
            throw new IllegalArgumentException("cross_entropy: target must be int32 class indices, got " + target.dtype());
        }
        if (labelSmoothing < 0 || labelSmoothing > 1) {
            throw new IllegalArgumentException("cross_entropy: label smoothing must be in [0, 1], got " + labelSmoothing);
        }
        if (logits.dim() < 2 || target.dim() != logits.dim() - 1 || target.size(0) != logits.size(0)) {
            throw new IllegalArgumentException("cross_entropy: logits " + logits.shape() + " and target " + target.shape()
                    + " do not match (expected logits (N, C, d…) and target (N, d…))");
        }
        int c = logits.size(1);
        // (N, C, d…) → (N·d…, C): classes last, one row per prediction
        int[] order = new int[logits.dim()];
        order[0] = 0;
        for (int i = 2; i < logits.dim(); i++) order[i - 1] = i;
        order[logits.dim() - 1] = 1;
        Tensor rows = logits.permute(order).reshape(-1, c);
        Tensor t = target.reshape(-1);
        for (int i = 0; i < logits.dim(); i++) {
            if (i != 1 && logits.size(i) != target.size(i > 1 ? i - 1 : 0)) {
                throw new IllegalArgumentException("cross_entropy: logits " + logits.shape() + " and target "
                        + target.shape() + " differ outside the class dim");
            }
        }
        Tensor valid = t.ne(ignoreIndex);
        Tensor safe = t.where(valid, t.zerosLike());
        for (int v : safe.toIntArray()) {
            if (v < 0 || v >= c) throw new IndexOutOfBoundsException("cross_entropy: target " + v + " is out of range for " + c + " classes");
        }
        Tensor loss = crossEntropyRows(rows.contiguous(), t.to(DType.INT32).contiguous(), labelSmoothing, ignoreIndex); // (M)
        return switch (reduction) {
            case NONE -> loss.reshape(target.shape().dims());
            case SUM -> loss.sum();
            case MEAN -> loss.sum().div(valid.to(loss.dtype()).sum());
        };
    }

    /**
     * The fused primitive: per-row loss (M) of rows (M, C), 0 for ignored rows. Forward saves the
     * log-sum-exp per row; backward is g·(softmax − smoothed one-hot) in one pass, with no (M, C)
     * log-probabilities kept between them.
     */
    static Tensor crossEntropyRows(Tensor rows, Tensor target, double smoothing, int ignore) {
        Tensor[] r = Backends.on("cross_entropy", rows, target).crossEntropy(rows, target, smoothing, ignore);
        Tensor lse = r[1];
        return Autograd.record(Op.CROSS_ENTROPY, r[0],
                (g, n) -> new Tensor[] {Backends.on("cross_entropy", rows, g).crossEntropyBackward(rows, lse, target, g.contiguous(), smoothing, ignore)}, rows);
    }

    static Tensor mse(Tensor input, Tensor target, Reduction reduction) {
        checkSame("mse_loss", input, target);
        return reduce(input.sub(target).square(), reduction);
    }

    static Tensor l1(Tensor input, Tensor target, Reduction reduction) {
        checkSame("l1_loss", input, target);
        return reduce(input.sub(target).abs(), reduction);
    }

    /** Zeroes elements with probability p and scales the rest by 1/(1−p); identity when not training. */
    static Tensor dropout(Tensor x, double p, boolean training, Generator gen) {
        if (p < 0 || p > 1) throw new IllegalArgumentException("dropout: p must be in [0, 1], got " + p);
        if (!training || p == 0) return x;
        if (p == 1) return x.mul(0.0);
        Tensor keep = Creation.bernoulli(gen, 1 - p, x.shape().dims());
        return x.mul(keep.to(x.dtype()).to(x.device())).mul(1 / (1 - p));
    }

    private static Tensor reduce(Tensor loss, Reduction r) {
        return switch (r) {
            case NONE -> loss;
            case SUM -> loss.sum();
            case MEAN -> loss.mean();
        };
    }

    private static void checkSame(String op, Tensor a, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException(op + ": input " + a.shape() + " and target " + b.shape() + " must have the same shape");
        }
    }
}
