package dev.peco4j.tensor;

/**
 * Reductions. Primitives: sum, amax, softmax, log_softmax (plus argmax, which has no gradient).
 * Composed from them: mean, var, std, logsumexp, norm, min/max with indices.
 * All take dims (none = all dims) and keepdim, as PyTorch does.
 */
public final class ReduceOps {
    private ReduceOps() {}

    /** The values and positions of a max or min along one dim. */
    public record ValuesIndices(Tensor values, Tensor indices) {}

    static Tensor sum(Tensor x, int[] dims, boolean keepdim) {
        int[] ds = x.shape().normalizeDims(dims, "sum");
        Tensor s = Backends.on(x).sum(x.dtype() == DType.BOOL ? x.to(DType.INT32) : x, ds);
        Tensor out = keepdim ? s : s.reshape(dropDims(x.shape(), ds));
        // backward: the gradient of every summed element is the output's gradient
        return Autograd.record(Op.SUM, out, (g, n) -> new Tensor[] {
            g.reshape(s.shape().dims()).expand(x.shape().dims())}, x);
    }

    /** Max over dims. On ties the gradient is shared evenly, as PyTorch's amax does. */
    static Tensor amax(Tensor x, int[] dims, boolean keepdim) {
        int[] ds = x.shape().normalizeDims(dims, "amax");
        for (int d : ds) {
            if (x.size(d) == 0) throw new IllegalArgumentException("amax: dim " + d + " of " + x.shape() + " is empty");
        }
        Tensor m = Backends.on(x).amax(x, ds);
        Tensor out = keepdim ? m : m.reshape(dropDims(x.shape(), ds));
        return Autograd.record(Op.AMAX, out, (g, n) -> {
            Tensor hit = x.eq(m).to(x.dtype());
            Tensor count = hit.sum(ds, true);
            return new Tensor[] {hit.div(count).mul(g.reshape(m.shape().dims()))};
        }, x);
    }

    static Tensor argmax(Tensor x, int dim, boolean keepdim, boolean min) {
        int d = x.shape().normalize(dim, min ? "argmin" : "argmax");
        if (x.size(d) == 0) throw new IllegalArgumentException("argmax: dim " + dim + " of " + x.shape() + " is empty");
        Tensor a = Backends.on(x).argmax(x, d, min);
        return keepdim ? a : a.reshape(dropDims(x.shape(), new int[] {d}));
    }

    /** softmax along dim; backward y·(g − Σ g·y), one fused kernel. */
    static Tensor softmax(Tensor x, int dim) {
        UnaryOps.requireFloating(x, "softmax");
        int d = x.shape().normalize(dim, "softmax");
        Tensor y = Backends.on(x).softmax(x, d, false);
        return Autograd.record(Op.SOFTMAX, y, (g, n) -> new Tensor[] {Backends.on("softmax", y, g).softmaxBackward(y, g, d, false)}, x);
    }

    /** log_softmax along dim; backward g − exp(y)·Σ g, one fused kernel. */
    static Tensor logSoftmax(Tensor x, int dim) {
        UnaryOps.requireFloating(x, "log_softmax");
        int d = x.shape().normalize(dim, "log_softmax");
        Tensor y = Backends.on(x).softmax(x, d, true);
        return Autograd.record(Op.LOG_SOFTMAX, y, (g, n) -> new Tensor[] {Backends.on("softmax", y, g).softmaxBackward(y, g, d, true)}, x);
    }

    // ---- composites ----

    static Tensor mean(Tensor x, int[] dims, boolean keepdim) {
        int[] ds = x.shape().normalizeDims(dims, "mean");
        return x.sum(ds, keepdim).div(count(x.shape(), ds));
    }

    /** Variance with Bessel's correction {@code correction} (1 = unbiased, 0 = biased). */
    static Tensor var(Tensor x, int[] dims, int correction, boolean keepdim) {
        int[] ds = x.shape().normalizeDims(dims, "var");
        Tensor centered = x.sub(x.mean(ds, true));
        return centered.square().sum(ds, keepdim).div(Math.max(0, count(x.shape(), ds) - correction));
    }

    /** log Σ exp, stable: the max is subtracted first (and carries no gradient, which cancels anyway). */
    static Tensor logsumexp(Tensor x, int[] dims, boolean keepdim) {
        int[] ds = x.shape().normalizeDims(dims, "logsumexp");
        Tensor m = x.amax(ds, true).detach();
        m = m.where(m.abs().lt(Double.POSITIVE_INFINITY), m.zerosLike()); // all -inf rows: subtract 0
        Tensor r = x.sub(m).exp().sum(ds, true).log().add(m);
        return keepdim ? r : r.reshape(dropDims(x.shape(), ds));
    }

    /** The p-norm over dims: p = 2 (Euclidean), 1, infinity, or any p > 0. */
    static Tensor norm(Tensor x, double p, int[] dims, boolean keepdim) {
        if (p == 2) return x.square().sum(dims, keepdim).sqrt();
        if (p == 1) return x.abs().sum(dims, keepdim);
        if (p == Double.POSITIVE_INFINITY) return x.abs().amax(dims, keepdim);
        if (!(p > 0)) throw new IllegalArgumentException("norm: p must be > 0, got " + p);
        return x.abs().pow(p).sum(dims, keepdim).pow(1 / p);
    }

    /** Max along one dim with the index of its first occurrence; the gradient flows through the values. */
    static ValuesIndices maxDim(Tensor x, int dim, boolean keepdim, boolean min) {
        Tensor idx = argmax(x, dim, true, min);
        Tensor values = x.gather(dim, idx);
        if (!keepdim) {
            int d = x.shape().normalize(dim, "max");
            return new ValuesIndices(values.squeeze(d), idx.squeeze(d));
        }
        return new ValuesIndices(values, idx);
    }

    static int count(Shape s, int[] dims) {
        int n = 1;
        for (int d : dims) n *= s.dim(d);
        return n;
    }

    static int[] dropDims(Shape s, int[] dims) {
        int[] out = new int[s.rank() - dims.length];
        int k = 0;
        outer:
        for (int d = 0; d < s.rank(); d++) {
            for (int r : dims) if (r == d) continue outer;
            out[k++] = s.dim(d);
        }
        return out;
    }
}
