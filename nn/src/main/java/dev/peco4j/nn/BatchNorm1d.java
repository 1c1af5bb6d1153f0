package dev.peco4j.nn;

import dev.peco4j.tensor.Tensor;

/** Batch normalization of vectors (N, C) or sequences (N, C, L), as PyTorch's BatchNorm1d (see {@link BatchNorm}). */
public final class BatchNorm1d extends BatchNorm {
    public BatchNorm1d(int channels) {
        this(channels, 1e-5, 0.1, true, true);
    }

    public BatchNorm1d(int channels, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        super(channels, eps, momentum, affine, trackRunningStats);
    }

    @Override
    boolean rankOk(Tensor x) {
        return x.dim() == 2 || x.dim() == 3;
    }

    @Override
    String layout() {
        return "(N, C) or (N, C, L)";
    }
}
