package dev.peco4j.nn;

import dev.peco4j.tensor.Tensor;
import java.util.List;

/**
 * Parameters that share optimizer settings: a learning rate, a weight decay, and an lr scale (layer-wise
 * lr decay sets it; {@link Optimizer#applySchedule} uses lr = schedule value × lrScale). Mutable on
 * purpose: schedules change lr and weight decay every iteration, as PyTorch's param_groups do.
 */
public final class ParamGroup {
    public final String name;
    public final List<Tensor> params;
    public double lr;
    public double weightDecay;
    public double lrScale;

    public ParamGroup(String name, List<Tensor> params, double lr, double weightDecay, double lrScale) {
        if (params.isEmpty()) throw new IllegalArgumentException("param group '" + name + "' has no parameters");
        if (!(lr >= 0) || !(weightDecay >= 0) || !(lrScale >= 0)) {
            throw new IllegalArgumentException("param group '" + name + "': lr, weight decay and lr scale must be >= 0, got "
                    + lr + ", " + weightDecay + ", " + lrScale);
        }
        this.name = name;
        this.params = List.copyOf(params);
        this.lr = lr;
        this.weightDecay = weightDecay;
        this.lrScale = lrScale;
    }

    public ParamGroup(String name, List<Tensor> params, double lr, double weightDecay) {
        this(name, params, lr, weightDecay, 1.0);
    }

    @Override
    public String toString() {
        return "ParamGroup[" + name + ": " + params.size() + " tensors, lr=" + lr + ", weight_decay=" + weightDecay
                + ", lr_scale=" + lrScale + "]";
    }
}
