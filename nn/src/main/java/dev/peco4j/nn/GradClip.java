package dev.peco4j.nn;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Tensor;
import java.util.Collection;

/** Global gradient-norm clipping (PyTorch's clip_grad_norm_). */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales all gradients by min(1, maxNorm / (total + 1e-6)), where total is the 2-norm of all
     * gradients together; returns total (computed in double). Parameters without a gradient are skipped.
     */
    public static double clipGradNorm(Collection<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("clipGradNorm: max norm must be > 0, got " + maxNorm);
        double sq = 0;
        for (Tensor p : params) {
            if (p.grad() == null) continue;
            for (double g : p.grad().toDoubleArray()) sq += g * g;
        }
        double total = Math.sqrt(sq);
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1) {
            try (var ignored = Autograd.noGrad()) {
                for (Tensor p : params) if (p.grad() != null) p.grad().mulInPlace(coef);
            }
        }
        return total;
    }
}
