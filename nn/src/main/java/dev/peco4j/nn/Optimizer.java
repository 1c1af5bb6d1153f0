package dev.peco4j.nn;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The base of the optimizers: parameter groups, per-parameter state (named tensors such as exp_avg),
 * schedules applied per group, and the state's save/restore by parameter name for checkpoints.
 * A step skips parameters without a gradient, as PyTorch does.
 */
public abstract class Optimizer {
    protected final List<ParamGroup> groups;
    private final Map<Tensor, Map<String, Tensor>> state = new IdentityHashMap<>();

    protected Optimizer(List<ParamGroup> groups) {
        if (groups.isEmpty()) throw new IllegalArgumentException(getClass().getSimpleName() + ": no parameter groups");
        var seen = new IdentityHashMap<Tensor, String>();
        for (ParamGroup g : groups) {
            for (Tensor p : g.params) {
                if (!p.dtype().isFloating()) throw new IllegalArgumentException("optimizer: group '" + g.name + "' holds a " + p.dtype() + " tensor");
                String before = seen.put(p, g.name);
                if (before != null) {
                    throw new IllegalArgumentException("optimizer: a parameter " + p.shape() + " is in groups '" + before + "' and '" + g.name + "'");
                }
            }
        }
        this.groups = List.copyOf(groups);
    }

    public final List<ParamGroup> groups() {
        return groups;
    }

    /** Updates every parameter that has a gradient, without recording. */
    public final void step() {
        try (var ignored = Autograd.noGrad()) {
            for (ParamGroup g : groups) {
                for (Tensor p : g.params) {
                    if (p.grad() != null) update(g, p, p.grad(), stateOf(p));
                }
            }
        }
    }

    /** One parameter's update from its gradient; {@code s} is its state, empty before the first step. */
    protected abstract void update(ParamGroup group, Tensor param, Tensor grad, Map<String, Tensor> s);

    private Map<String, Tensor> stateOf(Tensor p) {
        return state.computeIfAbsent(p, k -> new LinkedHashMap<>());
    }

    public final void zeroGrad() {
        for (ParamGroup g : groups) g.params.forEach(Tensor::zeroGrad);
    }

    /** lr of every group = value × the group's lr scale (BEiT's per-iteration schedule). */
    public final void applySchedule(double value) {
        for (ParamGroup g : groups) g.lr = value * g.lrScale;
    }

    /** Weight decay of every group that decays (BEiT's weight-decay schedule leaves no-decay groups at 0). */
    public final void applyWeightDecay(double value) {
        for (ParamGroup g : groups) if (g.weightDecay > 0) g.weightDecay = value;
    }

    /** The state as tensors named {@code <paramName>.<key>}, for checkpoints; names maps parameters to names. */
    public final Map<String, Tensor> stateDict(Map<String, Tensor> names) {
        Map<Tensor, String> byTensor = new IdentityHashMap<>();
        names.forEach((n, t) -> byTensor.put(t, n));
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ParamGroup g : groups) {
            for (Tensor p : g.params) {
                Map<String, Tensor> s = state.get(p);
                if (s == null) continue;
                String n = byTensor.get(p);
                if (n == null) throw new IllegalArgumentException("optimizer state: a parameter " + p.shape() + " has no name");
                s.forEach((k, v) -> out.put(n + "." + k, v));
            }
        }
        return out;
    }

    /**
     * Restores state saved by {@link #stateDict}; names maps names to this run's parameters. Each
     * entry must be a floating tensor of its parameter's shape ({@code step}: a scalar).
     */
    public final void loadStateDict(Map<String, Tensor> saved, Map<String, Tensor> names) {
        List<String> unknown = new ArrayList<>();
        state.clear();
        for (var e : saved.entrySet()) {
            int dot = e.getKey().lastIndexOf('.');
            Tensor p = dot < 0 ? null : names.get(e.getKey().substring(0, dot));
            if (p == null) {
                unknown.add(e.getKey());
                continue;
            }
            String key = e.getKey().substring(dot + 1);
            Tensor v = e.getValue();
            boolean scalar = key.equals("step");
            if (!v.dtype().isFloating() || !(scalar ? v.shape().rank() == 0 : v.shape().equals(p.shape()))) {
                throw new IllegalArgumentException("optimizer state '" + e.getKey() + "' is " + v.dtype() + " " + v.shape() + ", expected a floating "
                        + (scalar ? "scalar" : "tensor of the parameter's shape " + p.shape()));
            }
            try (var ignored = Autograd.noGrad()) {
                stateOf(p).put(key, scalar ? v.copy().detach() : v.to(p.device()).copy().detach()); // state lives beside its parameter
            }
        }
        if (!unknown.isEmpty()) throw new IllegalArgumentException("optimizer state: entries for unknown parameters " + unknown);
    }
}
