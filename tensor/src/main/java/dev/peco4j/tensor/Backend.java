package dev.peco4j.tensor;

/**
 * The kernel seam: the number-crunching behind the primitives, and nothing else. Ops validate
 * arguments, compute shapes and record the graph; a backend only fills output tensors.
 *
 * <p>The {@link ScalarBackend} is the reference (every dtype, computed in double). Faster backends
 * implement the kernels they speed up and are tested against it.
 *
 * <p>Unless a method says otherwise, inputs may be strided views and outputs are new contiguous
 * tensors of the input's dtype.
 */
public interface Backend {
    String name();

    // --- elementwise ---
    Tensor map(UnaryOps.Fn fn, Tensor x);

    /** g · f'(x, y), elementwise. */
    Tensor mapBackward(UnaryOps.Fn fn, Tensor x, Tensor y, Tensor g);

    /** fn(a, b) at the broadcast shape, stored as {@code out}. */
    Tensor zip(BinaryOps.Fn fn, Tensor a, Tensor b, DType out);

    /** cond ? a : b; all three already of one shape. */
    Tensor where(Tensor cond, Tensor a, Tensor b);

    /** A contiguous copy converted to dtype. */
    Tensor copy(Tensor x, DType dtype);

    /** Writes src (broadcast to dst's shape) through the view dst, in place. */
    void copyInto(Tensor dst, Tensor src);

    // --- reductions (results keep the reduced dims, with size 1) ---
    Tensor sum(Tensor x, int[] dims);

    Tensor amax(Tensor x, int[] dims);

    /** Index of the first maximum (or minimum) along dim, as int32. */
    Tensor argmax(Tensor x, int dim, boolean min);

    Tensor softmax(Tensor x, int dim, boolean log);

    /** The input gradient of softmax (y·(g − Σ g·y)) or log-softmax (g − e^y·Σ g) along dim, from the output y. */
    Tensor softmaxBackward(Tensor y, Tensor g, int dim, boolean log);

    // --- normalization ---
    /**
     * Layer norm of each row of D trailing elements: {y, mean, rstd}, y = (x − mean)·rstd·w + b with
     * rstd = 1/√(var + eps) (biased variance); w and b (D elements) may be null; mean and rstd have one
     * value per row.
     */
    Tensor[] layerNorm(Tensor x, Tensor w, Tensor b, int d, double eps);

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
     * Softmax cross-entropy of rows x (M, C) against target classes (M): per row
     * loss = lse − (1−ε)·x[t] − ε·mean(x), 0 where t = ignore. Returns {loss (M), lse (M)}.
     */
    Tensor[] crossEntropy(Tensor x, int[] target, double smoothing, int ignore);

    /** dx = g·(softmax(x) − (1−ε)·onehot(t) − ε/C) per row, 0 for ignored rows; lse from the forward. */
    Tensor crossEntropyBackward(Tensor x, Tensor lse, int[] target, Tensor g, double smoothing, int ignore);

    /** {dx, dw, db} of layerNorm from dy and the saved mean and rstd; dw and db are null without w. */
    Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, int d);

    // --- attention ---
    /**
     * Scaled dot-product attention: q (B,H,N,D), k (B,H,M,D), v (B,H,M,E); bias null or contiguous
     * (Bb,H,N,M) with Bb = 1 or B; keyMask null or bool (B,M), true where a key may be attended.
     * Returns {out (B,H,N,E), lse (B,H,N)}, lse the log-sum-exp of each row's logits (+∞ for a row
     * with every key masked, whose output is 0).
     */
    Tensor[] sdpa(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scale);

    /** {dq, dk, dv, dbias} of sdpa from dout and the saved out and lse; dbias (Bb,H,N,M) only when asked. */
    Tensor[] sdpaBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, Tensor out, Tensor lse,
                          double scale, boolean biasGrad);

    // --- optimizer ---
    /** The Adam/AdamW update of one parameter, in place on p, m and v (all contiguous, one shape). */
    void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStep step);

    // --- GEMM ---
    /** a [B, n, k] · b [B, k, m] → [B, n, m]. */
    Tensor bmm(Tensor a, Tensor b);

    /** {y = act(x·wᵀ + b), z = x·wᵀ + b (null without act)} for x (M, K), w (N, K), b (N) or null. */
    Tensor[] linear(Tensor x, Tensor w, Tensor b, UnaryOps.Fn act);

    // --- indexing (indices already validated) ---
    Tensor gather(Tensor x, int dim, Tensor index);

    Tensor scatterAdd(Tensor self, int dim, Tensor index, Tensor src);

    Tensor indexSelect(Tensor x, int dim, Tensor index);

    Tensor indexAdd(Tensor self, int dim, Tensor index, Tensor src);

    // --- convolution and pooling, NCHW ---
    Tensor conv2d(Tensor x, Tensor w, Conv2dParams p);

    Tensor conv2dBackwardInput(Tensor g, Tensor w, Shape inputShape, Conv2dParams p);

    Tensor conv2dBackwardWeight(Tensor g, Tensor x, Shape weightShape, Conv2dParams p);

    Tensor avgPool2d(Tensor x, Pool2dParams p);

    Tensor avgPool2dBackward(Tensor g, Shape inputShape, Pool2dParams p);

    /** Returns {values, indices}: indices are int32 positions h·W + w within each input plane. */
    Tensor[] maxPool2d(Tensor x, Pool2dParams p);

    Tensor maxPool2dBackward(Tensor g, Tensor indices, Shape inputShape);

    Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW);

    Tensor adaptiveAvgPool2dBackward(Tensor g, Shape inputShape);
}
