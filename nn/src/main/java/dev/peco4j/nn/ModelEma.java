package dev.peco4j.nn;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Tensor;
import java.util.Map;

/**
 * An exponential moving average of a model's weights (timm's ModelEmaV2): after each optimizer step,
 * shadow ← decay·shadow + (1 − decay)·model for every floating entry of the state dict (buffers
 * included); integer buffers are copied. The shadow is a second instance of the same architecture,
 * kept in eval mode, so it can be evaluated or saved like any model.
 */
public final class ModelEma {
    private final Module model;
    private final Module shadow;
    private final double decay;

    public ModelEma(Module model, Module shadow, double decay) {
        if (!(decay >= 0 && decay <= 1)) throw new IllegalArgumentException("ModelEma: decay must be in [0, 1], got " + decay);
        this.model = model;
        this.shadow = shadow;
        this.decay = decay;
        shadow.loadStateDict(model.stateDict(), true);
        shadow.eval().freeze();
    }

    public Module shadow() {
        return shadow;
    }

    public void update() {
        Map<String, Tensor> src = model.stateDict();
        try (var ignored = Autograd.noGrad()) {
            for (var e : shadow.stateDict().entrySet()) {
                Tensor s = e.getValue(), m = src.get(e.getKey());
                if (s.dtype().isFloating()) s.mulInPlace(decay).addInPlace(m.detach().to(s.dtype()), 1 - decay);
                else s.copyFrom(m);
            }
        }
    }
}
