package dev.peco4j.tensor;

/**
 * The kernel seam: the number-crunching behind the primitives, and nothing else. Ops validate
 * arguments, compute shapes and record the graph; a backend only fills output tensors.
 *
 * <p>The {@link ScalarBackend} is the reference (every dtype, computed in double), and every method
 * defaults to it: a faster backend implements only the kernels it speeds up, each tested against it.
 * A method marked {@link Composite} instead defaults to other ops, so it runs on any device as they do.
 *
 * <p>Unless a method says otherwise, inputs may be strided views and outputs are new contiguous
 * tensors of the input's dtype.
 */
public interface Backend {
    String name();

    /**
     * Marks a method whose default is made of other ops (through {@link Tensor}, so on the inputs'
     * device), not of the reference's kernels: a device without its own kernel runs the default
     * there, with no fallback to the host.
     */
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target(java.lang.annotation.ElementType.METHOD)
    @interface Composite {}

    // --- elementwise ---
    default Tensor map(UnaryOps.Fn fn, Tensor x) {
        return ScalarBackend.INSTANCE.map(fn, x);
    }

    /** g · f'(x, y), elementwise. */
    default Tensor mapBackward(UnaryOps.Fn fn, Tensor x, Tensor y, Tensor g) {
        return ScalarBackend.INSTANCE.mapBackward(fn, x, y, g);
    }

    /** fn(a, b) at the broadcast shape, stored as {@code out}. */
    default Tensor zip(BinaryOps.Fn fn, Tensor a, Tensor b, DType out) {
        return ScalarBackend.INSTANCE.zip(fn, a, b, out);
    }

    /** dst += src in place, where dst is dense and src has its shape and dtype: autograd sums a gradient into a buffer of its own. */
    @Composite
    default void addInto(Tensor dst, Tensor src) {
        copyInto(dst, zip(BinaryOps.Fn.ADD, dst, src, dst.dtype()));
    }

    /** cond ? a : b; all three already of one shape. */
    default Tensor where(Tensor cond, Tensor a, Tensor b) {
        return ScalarBackend.INSTANCE.where(cond, a, b);
    }

    /** A contiguous copy converted to dtype. */
    default Tensor copy(Tensor x, DType dtype) {
        return ScalarBackend.INSTANCE.copy(x, dtype);
    }

    /** Writes src (broadcast to dst's shape) through the view dst, in place. */
    default void copyInto(Tensor dst, Tensor src) {
        ScalarBackend.INSTANCE.copyInto(dst, src);
    }

    // --- reductions (results keep the reduced dims, with size 1) ---
    default Tensor sum(Tensor x, int[] dims) {
        return ScalarBackend.INSTANCE.sum(x, dims);
    }

    default Tensor amax(Tensor x, int[] dims) {
        return ScalarBackend.INSTANCE.amax(x, dims);
    }

    /**
     * For each row of z (N, D), the index (int32, N) of the row of codes (K, D) nearest to it:
     * argmin over k of (zz_i + ee_k) − 2·z_i·e_k in float32, given zz = ‖z_i‖² (N, 1) and ee = ‖e_k‖²
     * (K); the first of equal distances wins, and NaN as in {@link #argmax}. No input needs a gradient.
     */
    @Composite
    default Tensor nearestRows(Tensor z, Tensor codes, Tensor zz, Tensor ee) {
        return zz.add(ee).sub(z.matmul(codes.mT()).mul(2.0)).argmin(1, false);
    }

    /** Index of the first maximum (or minimum) along dim, as int32. */
    default Tensor argmax(Tensor x, int dim, boolean min) {
        return ScalarBackend.INSTANCE.argmax(x, dim, min);
    }

    default Tensor softmax(Tensor x, int dim, boolean log) {
        return ScalarBackend.INSTANCE.softmax(x, dim, log);
    }

    /** The input gradient of softmax (y·(g − Σ g·y)) or log-softmax (g − e^y·Σ g) along dim, from the output y. */
    default Tensor softmaxBackward(Tensor y, Tensor g, int dim, boolean log) {
        return ScalarBackend.INSTANCE.softmaxBackward(y, g, dim, log);
    }

    // --- normalization ---
    /**
     * Layer norm of each row of D trailing elements: {y, mean, rstd}, y = (x − mean)·rstd·w + b with
     * rstd = 1/√(var + eps) (biased variance); w and b (D elements) may be null; mean and rstd have one
     * value per row.
     */
    default Tensor[] layerNorm(Tensor x, Tensor w, Tensor b, int d, double eps) {
        return ScalarBackend.INSTANCE.layerNorm(x, w, b, d, eps);
    }

    /**
     * Group norm of x (N, C, *) over each image's G channel groups, then a per-channel affine: {y, mean
     * (N·G), rstd (N·G)}; w and b (C) may be null. Defaults to the reference kernel ({@link GroupNormKernels}).
     */
    default Tensor[] groupNorm(Tensor x, Tensor w, Tensor b, int groups, double eps) {
        return GroupNormKernels.reference(x, w, b, groups, eps);
    }

    /** {dx, dw, db} of groupNorm from dy and the saved mean and rstd; dw is null without w, db null without b. */
    default Tensor[] groupNormBackward(Tensor dy, Tensor x, Tensor w, Tensor b, Tensor mean, Tensor rstd, int groups) {
        return GroupNormKernels.referenceBackward(dy, x, w, b, mean, rstd, groups);
    }

    /**
     * Softmax cross-entropy of rows x (M, C) against target classes (int32, contiguous (M), already
     * checked to be in range or {@code ignore}): per row
     * loss = lse − (1−ε)·x[t] − ε·mean(x), 0 where t = ignore. Returns {loss (M), lse (M)}.
     */
    default Tensor[] crossEntropy(Tensor x, Tensor target, double smoothing, int ignore) {
        return ScalarBackend.INSTANCE.crossEntropy(x, target, smoothing, ignore);
    }

    /** dx = g·(softmax(x) − (1−ε)·onehot(t) − ε/C) per row, 0 for ignored rows; lse from the forward. */
    default Tensor crossEntropyBackward(Tensor x, Tensor lse, Tensor target, Tensor g, double smoothing, int ignore) {
        return ScalarBackend.INSTANCE.crossEntropyBackward(x, lse, target, g, smoothing, ignore);
    }

    /** {dx, dw, db} of layerNorm from dy and the saved mean and rstd; dw and db are null without w. */
    default Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, int d) {
        return ScalarBackend.INSTANCE.layerNormBackward(dy, x, w, mean, rstd, d);
    }

    // --- attention ---
    /**
     * Scaled dot-product attention: q (B,H,N,D), k (B,H,M,D), v (B,H,M,E); bias null or contiguous
     * (Bb,H,N,M) with Bb = 1 or B; keyMask null or bool (B,M), true where a key may be attended.
     * Returns {out (B,H,N,E), lse (B,H,N)}, lse the log-sum-exp of each row's logits (+∞ for a row
     * with every key masked, whose output is 0).
     */
    default Tensor[] sdpa(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scale) {
        return ScalarBackend.INSTANCE.sdpa(q, k, v, bias, keyMask, scale);
    }

    /** {dq, dk, dv, dbias} of sdpa from dout and the saved out and lse; dbias (Bb,H,N,M) only when asked. */
    default Tensor[] sdpaBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, Tensor out, Tensor lse,
                          double scale, boolean biasGrad) {
        return ScalarBackend.INSTANCE.sdpaBackward(dout, q, k, v, bias, keyMask, out, lse, scale, biasGrad);
    }

    // --- optimizer ---
    /** The Adam/AdamW update of one parameter, in place on p, m and v (all contiguous, one shape). */
    default void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStep step) {
        ScalarBackend.INSTANCE.adamStep(p, g, m, v, step);
    }

    // --- GEMM ---
    /** a [B, n, k] · b [B, k, m] → [B, n, m]. */
    default Tensor bmm(Tensor a, Tensor b) {
        return ScalarBackend.INSTANCE.bmm(a, b);
    }

    /** {y = act(x·wᵀ + b), z = x·wᵀ + b (null without act)} for x (M, K), w (N, K), b (N) or null. */
    default Tensor[] linear(Tensor x, Tensor w, Tensor b, UnaryOps.Fn act) {
        return ScalarBackend.INSTANCE.linear(x, w, b, act);
    }

    // --- indexing (indices already validated) ---
    default Tensor gather(Tensor x, int dim, Tensor index) {
        return ScalarBackend.INSTANCE.gather(x, dim, index);
    }

    default Tensor scatterAdd(Tensor self, int dim, Tensor index, Tensor src) {
        return ScalarBackend.INSTANCE.scatterAdd(self, dim, index, src);
    }

    default Tensor indexSelect(Tensor x, int dim, Tensor index) {
        return ScalarBackend.INSTANCE.indexSelect(x, dim, index);
    }

    default Tensor indexAdd(Tensor self, int dim, Tensor index, Tensor src) {
        return ScalarBackend.INSTANCE.indexAdd(self, dim, index, src);
    }

    // --- convolution and pooling, NCHW ---
    default Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        return ScalarBackend.INSTANCE.conv2d(x, w, p);
    }

    default Tensor conv2dBackwardInput(Tensor g, Tensor w, Shape inputShape, Conv2dParams p) {
        return ScalarBackend.INSTANCE.conv2dBackwardInput(g, w, inputShape, p);
    }

    default Tensor conv2dBackwardWeight(Tensor g, Tensor x, Shape weightShape, Conv2dParams p) {
        return ScalarBackend.INSTANCE.conv2dBackwardWeight(g, x, weightShape, p);
    }

    default Tensor avgPool2d(Tensor x, Pool2dParams p) {
        return ScalarBackend.INSTANCE.avgPool2d(x, p);
    }

    default Tensor avgPool2dBackward(Tensor g, Shape inputShape, Pool2dParams p) {
        return ScalarBackend.INSTANCE.avgPool2dBackward(g, inputShape, p);
    }

    /** Returns {values, indices}: indices are int32 positions h·W + w within each input plane. */
    default Tensor[] maxPool2d(Tensor x, Pool2dParams p) {
        return ScalarBackend.INSTANCE.maxPool2d(x, p);
    }

    default Tensor maxPool2dBackward(Tensor g, Tensor indices, Shape inputShape) {
        return ScalarBackend.INSTANCE.maxPool2dBackward(g, indices, inputShape);
    }

    default Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return ScalarBackend.INSTANCE.adaptiveAvgPool2d(x, outH, outW);
    }

    default Tensor adaptiveAvgPool2dBackward(Tensor g, Shape inputShape) {
        return ScalarBackend.INSTANCE.adaptiveAvgPool2dBackward(g, inputShape);
    }
}
