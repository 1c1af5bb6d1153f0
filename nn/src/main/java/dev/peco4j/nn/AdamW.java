package dev.peco4j.nn;

import dev.peco4j.tensor.AdamStep;
import dev.peco4j.tensor.Backends;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), exactly as PyTorch's AdamW:
 * p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)   (ε added after the bias correction).
 * With {@code decoupled = false} it is PyTorch's Adam, whose weight decay is added to the gradient.
 */
public class AdamW extends Optimizer {
    public record Config(double beta1, double beta2, double eps, boolean amsgrad) {
        public static final Config DEFAULT = new Config(0.9, 0.999, 1e-8, false);

        public Config {
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0)) {
                throw new IllegalArgumentException("Adam: invalid betas (" + beta1 + ", " + beta2 + ") or eps " + eps);
            }
        }
    }

    private final Config config;
    private final boolean decoupled;

    public AdamW(List<ParamGroup> groups, Config config) {
        this(groups, config, true);
    }

    AdamW(List<ParamGroup> groups, Config config, boolean decoupled) {
        super(groups);
        this.config = config;
        this.decoupled = decoupled;
    }

    public Config config() {
        return config;
    }

    @Override
    protected void update(ParamGroup g, Tensor p, Tensor grad, Map<String, Tensor> s) {
        Tensor stepT = s.computeIfAbsent("step", k -> Tensor.scalar(0, DType.FLOAT64));
        Tensor m = s.computeIfAbsent("exp_avg", k -> p.zerosLike());
        Tensor v = s.computeIfAbsent("exp_avg_sq", k -> p.zerosLike());
        stepT.addInPlace(stepT.onesLike(), 1);
        double t = stepT.item();
        double bc1 = 1 - Math.pow(config.beta1(), t), bc2 = 1 - Math.pow(config.beta2(), t);
        if (!config.amsgrad() && p.isContiguous() && grad.dtype() == p.dtype()) { // one fused pass over p, g, m, v
            Backends.on("adam", p, grad, m, v).adamStep(p, grad, m, v,
                    new AdamStep(g.lr, config.beta1(), config.beta2(), config.eps(), g.weightDecay, decoupled, bc1, bc2));
            return;
        }
        if (g.weightDecay != 0) {
            if (decoupled) p.mulInPlace(1 - g.lr * g.weightDecay);
            else grad = grad.add(p.mul(g.weightDecay));
        }
        m.mulInPlace(config.beta1()).addInPlace(grad, 1 - config.beta1());
        v.mulInPlace(config.beta2()).addInPlace(grad.mul(grad), 1 - config.beta2());
        Tensor second = v;
        if (config.amsgrad()) {
            Tensor maxV = s.computeIfAbsent("max_exp_avg_sq", k -> p.zerosLike());
            maxV.copyFrom(maxV.maximum(v));
            second = maxV;
        }
        Tensor denom = second.sqrt().div(Math.sqrt(bc2)).add(config.eps());
        p.addInPlace(m.div(denom), -g.lr / bc1);
    }
}
