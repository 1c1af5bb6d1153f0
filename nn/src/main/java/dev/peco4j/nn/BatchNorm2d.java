package dev.peco4j.nn;

import dev.peco4j.tensor.Tensor;

/** Batch normalization of images (N, C, H, W), as PyTorch's BatchNorm2d (see {@link BatchNorm}). */
public final class BatchNorm2d extends BatchNorm {
    public BatchNorm2d(int channels) {
        this(channels, 1e-5, 0.1, true, true);
    }

    public BatchNorm2d(int channels, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        super(channels, eps, momentum, affine, trackRunningStats);
    }

    @Override
    boolean rankOk(Tensor x) {
        return x.dim() == 4;
    }

    @Override
    String layout() {
        return "(N, C, H, W)";
    }
}
