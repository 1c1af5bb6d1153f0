package dev.peco4j.nn;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Tensor;

/**
 * Batch normalization over every dim but the channels: batch statistics in training (updating
 * running_mean and running_var with momentum, the variance unbiased), running statistics in eval.
 * Buffers follow PyTorch's names, num_batches_tracked included. {@link BatchNorm2d} takes (N, C, H, W),
 * {@link BatchNorm1d} (N, C) or (N, C, L), as PyTorch's classes of those names.
 */
public abstract sealed class BatchNorm extends Module permits BatchNorm1d, BatchNorm2d {
    public final int channels;
    public final double eps, momentum;
    public final Tensor weight, bias;
    public final Tensor runningMean, runningVar, numBatchesTracked;

    BatchNorm(int channels, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": momentum must be in [0, 1], got " + momentum);
        }
        this.channels = channels;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = affine ? parameter("weight", Tensor.ones(DType.FLOAT32, channels)) : null;
        this.bias = affine ? parameter("bias", Tensor.zeros(DType.FLOAT32, channels)) : null;
        this.runningMean = trackRunningStats ? buffer("running_mean", Tensor.zeros(DType.FLOAT32, channels), true) : null;
        this.runningVar = trackRunningStats ? buffer("running_var", Tensor.ones(DType.FLOAT32, channels), true) : null;
        this.numBatchesTracked = trackRunningStats ? buffer("num_batches_tracked", Tensor.zeros(DType.INT32), true) : null;
    }

    /** Whether x has this class's rank; its message names the layout ("(N, C, H, W)"). */
    abstract boolean rankOk(Tensor x);

    abstract String layout();

    @Override
    public Tensor forward(Tensor x) {
        if (!rankOk(x) || x.size(1) != channels) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": expected " + layout().replace("C", Integer.toString(channels))
                    + ", got " + x.shape());
        }
        if (isTraining() && numBatchesTracked != null) {
            try (var ignored = Autograd.noGrad()) {
                numBatchesTracked.addInPlace(numBatchesTracked.onesLike(), 1);
            }
        }
        return Functional.batchNorm(x, runningMean, runningVar, weight, bias, isTraining(), momentum, eps);
    }

    @Override
    protected String extraRepr() {
        return channels + ", eps=" + eps + ", momentum=" + momentum + ", affine=" + (weight != null)
                + ", track_running_stats=" + (runningMean != null);
    }
}
