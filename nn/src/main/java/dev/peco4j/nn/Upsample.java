package dev.peco4j.nn;

import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Tensor;

/** Nearest-neighbour upsampling by an integer factor (N,C,H,W) → (N,C,H·s,W·s). */
public final class Upsample extends Module {
    public final int scale;

    public Upsample(int scale) {
        if (scale < 1) throw new IllegalArgumentException("Upsample: scale must be >= 1, got " + scale);
        this.scale = scale;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.upsampleNearest(x, scale);
    }

    @Override
    protected String extraRepr() {
        return "scale_factor=" + scale + ", mode='nearest'";
    }
}
