package dev.peco4j.tensor;

/**
 * Matrix products with PyTorch's rules: 1-D operands are promoted to a row (left) or a column
 * (right) and the added dim removed afterwards; batch dims broadcast. The primitive is one
 * batched product (B,n,k)·(B,k,m); its backward is dA = dC·Bᵀ and dB = Aᵀ·dC.
 */
public final class MatmulOps {
    private MatmulOps() {}

    /**
     * For each row of z (N, D), the index (int32) of the nearest row of codes (K, D) by squared
     * Euclidean distance, computed as ‖z_i‖² + ‖e_k‖² − 2·z_i·e_k (a vector quantizer's code search);
     * the first of equal distances wins. The vector backend fuses the product with the argmin, so the
     * N×K distances are never stored. Not differentiable.
     */
    static Tensor nearestRows(Tensor z, Tensor codes) {
        if (z.dim() != 2 || codes.dim() != 2 || z.size(1) != codes.size(1) || codes.size(0) == 0) {
            throw new IllegalArgumentException("nearestRows: expected z (N, D) and codes (K, D) with the same D and K > 0, got "
                    + z.shape() + " and " + codes.shape());
        }
        if (z.dtype() != codes.dtype() || !z.dtype().isFloating()) {
            throw new IllegalArgumentException("nearestRows: expected floating tensors of one dtype, got " + z.dtype() + " and " + codes.dtype());
        }
        try (var ignored = Autograd.noGrad()) {
            Tensor zz = z.square().sum(new int[] {1}, true), ee = codes.square().sum(1);
            return Backends.on("nearest_rows", z, codes).nearestRows(z, codes, zz, ee);
        }
    }

    static Tensor matmul(Tensor a, Tensor b) {
        if (a.dim() == 0 || b.dim() == 0) {
            throw new IllegalArgumentException("matmul: both arguments need at least 1 dim, got shapes "
                    + a.shape() + " and " + b.shape());
        }
        int k = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
        if (k != kb) {
            throw new IllegalArgumentException("matmul: shapes " + a.shape() + " and " + b.shape()
                    + " are incompatible (" + k + " != " + kb + ")");
        }
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException("matmul: dtypes differ: " + a.dtype() + " " + a.shape() + " and "
                    + b.dtype() + " " + b.shape());
        }
        if (a.dim() == 1 && b.dim() == 1) return product(a.unsqueeze(0), b.unsqueeze(1)).reshape();
        if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
        if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
        if (b.dim() == 2) {
            // (…, n, k)·(k, m): fold the batch into rows, one 2-D product
            int[] lead = a.shape().dims();
            Tensor c = product(a.reshape(-1, k), b);
            lead[lead.length - 1] = b.size(1);
            return c.reshape(lead);
        }
        Shape batch = Shape.broadcast(leading(a.shape()), leading(b.shape()), "matmul");
        int n = a.size(-2), m = b.size(-1);
        Tensor a3 = a.expand(append(batch, n, k)).reshape(-1, n, k);
        Tensor b3 = b.expand(append(batch, k, m)).reshape(-1, k, m);
        return product(a3, b3).reshape(append(batch, n, m));
    }

    /** The primitive: a (n,k)·(k,m) or (B,n,k)·(B,k,m), same rank and batch. */
    private static Tensor product(Tensor a, Tensor b) {
        boolean twoD = a.dim() == 2;
        Tensor c = Backends.on("matmul", a, b).bmm(twoD ? a.rawView(1, a.size(0), a.size(1)) : a,
                twoD ? b.rawView(1, b.size(0), b.size(1)) : b);
        Tensor out = twoD ? c.rawView(c.size(1), c.size(2)) : c;
        return Autograd.record(Op.MATMUL, out, (g, need) -> new Tensor[] {
            need[0] ? product(g, b.mT()) : null,
            need[1] ? product(a.mT(), g) : null}, a, b);
    }

    /** x·wᵀ + b, with w (out, in) as PyTorch's Linear stores it; bias may be null. */
    static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, Activation.IDENTITY);
    }

    /**
     * The LINEAR primitive: y = act(x·wᵀ + b) for x (…, K), w (N, K), b (N) or null. The backend adds
     * the bias and applies the activation to each output tile as the GEMM finishes it; with an
     * activation the pre-activation z is kept for the backward: dz = g·act'(z), dx = dz·w,
     * dw = dzᵀ·x, db = Σ_rows dz.
     */
    static Tensor linear(Tensor x, Tensor w, Tensor bias, Activation act) {
        if (x.dim() < 1 || w.dim() != 2) {
            throw new IllegalArgumentException("linear: input " + x.shape() + " and weight " + w.shape() + " (expected weight (out, in))");
        }
        int k = x.size(-1), n = w.size(0);
        if (w.size(1) != k) {
            throw new IllegalArgumentException("linear: input " + x.shape() + " and weight " + w.shape() + " are incompatible ("
                    + k + " != " + w.size(1) + ")");
        }
        if (bias != null && (bias.dim() != 1 || bias.size(0) != n)) {
            throw new IllegalArgumentException("linear: bias " + bias.shape() + " does not match " + n + " outputs");
        }
        if (x.dtype() != w.dtype() || (bias != null && bias.dtype() != w.dtype()) || !w.dtype().isFloating()) {
            throw new IllegalArgumentException("linear: dtypes differ or are not floating: input " + x.dtype() + ", weight " + w.dtype()
                    + (bias == null ? "" : ", bias " + bias.dtype()));
        }
        int[] lead = x.shape().dims();
        Tensor x2 = x.reshape(-1, k);                                       // (M, K)
        Tensor[] r = Backends.on("linear", x2, w, bias).linear(x2, w, bias, act.fn());      // {y, z or null}
        Tensor y = r[0], z = r[1];
        Tensor[] inputs = bias == null ? new Tensor[] {x2, w} : new Tensor[] {x2, w, bias};
        Tensor out = Autograd.record(Op.LINEAR, y, (g, need) -> {
            Tensor dz = act.fn() == null ? g : Backends.on("linear", z, g).mapBackward(act.fn(), z, y, g);
            return bias == null ? new Tensor[] {need[0] ? product(dz, w) : null, need[1] ? product(dz.mT(), x2) : null}
                    : new Tensor[] {need[0] ? product(dz, w) : null, need[1] ? product(dz.mT(), x2) : null, need[2] ? dz.sum(0) : null};
        }, inputs);
        lead[lead.length - 1] = n;
        return out.reshape(lead);
    }

    private static Shape leading(Shape s) {
        int[] d = s.dims();
        return Shape.of(java.util.Arrays.copyOf(d, d.length - 2));
    }

    private static int[] append(Shape batch, int x, int y) {
        int[] d = java.util.Arrays.copyOf(batch.dims(), batch.rank() + 2);
        d[batch.rank()] = x;
        d[batch.rank() + 1] = y;
        return d;
    }
}
