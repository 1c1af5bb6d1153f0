package dev.peco4j.tensor;

/**
 * Scaled dot-product attention as one primitive: out = softmax(q·kᵀ·scale + bias, masked keys
 * excluded)·v. Letters: B batch, H heads, N queries, M keys, D q/k dim, E v dim.
 *
 * <p>The fused kernel never holds the (B,H,N,M) attention matrix: it runs blocks of queries against
 * blocks of keys with an online softmax (running max and sum), and saves only the output and each
 * row's log-sum-exp; backward recomputes each block's probabilities from them (FlashAttention's
 * scheme). Long sequences (ViT-H/14 at 448 px: 1025 tokens) therefore cost memory per block only.
 */
public final class AttentionOps {
    private AttentionOps() {}

    /**
     * q (B,H,N,D), k (B,H,M,D), v (B,H,M,E). bias (optional) broadcasts to (B,H,N,M): (N,M), (H,N,M),
     * (1,H,N,M) or (B,H,N,M); its gradient flows (relative position bias tables are trained).
     * keyMask (optional) is bool (B,M), true where a key may be attended. A query whose keys are all
     * masked gets output 0 and no gradient.
     */
    static Tensor sdpa(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scale) {
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) {
            throw new IllegalArgumentException("sdpa: q, k and v must be (B, H, tokens, dim), got " + q.shape() + ", "
                    + k.shape() + ", " + v.shape());
        }
        int b = q.size(0), h = q.size(1), n = q.size(2), m = k.size(2);
        if (k.size(0) != b || v.size(0) != b || k.size(1) != h || v.size(1) != h || k.size(3) != q.size(3) || v.size(2) != m) {
            throw new IllegalArgumentException("sdpa: shapes q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                    + " do not match (expected k (B,H,M,D) and v (B,H,M,E) for q (B,H,N,D))");
        }
        if (q.dtype() != k.dtype() || q.dtype() != v.dtype() || !q.dtype().isFloating()) {
            throw new IllegalArgumentException("sdpa: q, k and v must share one floating dtype");
        }
        Tensor bias4 = null;
        if (bias != null) {
            if (bias.dim() < 2 || bias.dim() > 4 || bias.size(-1) != m || bias.size(-2) != n
                    || (bias.dim() >= 3 && bias.size(-3) != h && bias.size(-3) != 1)
                    || (bias.dim() == 4 && bias.size(0) != b && bias.size(0) != 1)) {
                throw new IllegalArgumentException("sdpa: bias " + bias.shape() + " does not broadcast to (B, H, N, M) = ["
                        + b + ", " + h + ", " + n + ", " + m + "] with a batch dim of 1 or B");
            }
            int bb = bias.dim() == 4 ? bias.size(0) : 1;
            Tensor b4 = bias;
            while (b4.dim() < 4) b4 = b4.unsqueeze(0);
            bias4 = b4.expand(bb, h, n, m).contiguous().to(q.dtype());
        }
        if (keyMask != null && (keyMask.dtype() != DType.BOOL || !keyMask.shape().equals(Shape.of(b, m)))) {
            throw new IllegalArgumentException("sdpa: key mask must be bool (B, M) = [" + b + ", " + m + "], got "
                    + keyMask.dtype() + " " + keyMask.shape());
        }
        Tensor biasIn = bias4;
        Tensor[] r = Backends.on("sdpa", q, k, v, biasIn, keyMask).sdpa(q, k, v, biasIn, keyMask, scale);
        Tensor out = r[0], lse = r[1];
        Tensor[] inputs = biasIn == null ? new Tensor[] {q, k, v} : new Tensor[] {q, k, v, biasIn};
        return Autograd.record(Op.SDPA, out, (g, need) -> {
            boolean biasGrad = biasIn != null && need[3];
            Tensor[] gr = Backends.on("sdpa", g, q, k, v).sdpaBackward(g, q, k, v, biasIn, keyMask, out, lse, scale, biasGrad);
            return biasIn == null ? new Tensor[] {gr[0], gr[1], gr[2]} : gr;
        }, inputs);
    }
}
