package dev.peco4j.nn;

import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.Arrays;

/**
 * Stochastic depth (timm's DropPath): in training, drops the whole residual branch of each sample
 * with probability p and scales kept samples by 1/(1−p). x is (B, …); the mask is (B, 1, …, 1).
 */
public final class DropPath extends Module implements Stochastic {
    public final double p;
    private Generator gen = new Generator(0);

    public DropPath(double p) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("DropPath: p must be in [0, 1), got " + p);
        this.p = p;
    }

    @Override
    public void generator(Generator g) {
        this.gen = g;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (p == 0 || !isTraining()) return x;
        int[] maskShape = new int[x.dim()];
        Arrays.fill(maskShape, 1);
        maskShape[0] = x.size(0);
        Tensor keep = Tensor.bernoulli(gen, 1 - p, maskShape).to(x.dtype()).to(x.device());
        return x.mul(keep).div(1 - p);
    }

    @Override
    protected String extraRepr() {
        return "drop_prob=" + p;
    }
}
