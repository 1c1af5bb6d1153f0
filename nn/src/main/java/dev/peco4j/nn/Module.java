package dev.peco4j.nn;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The base of every layer and model: parameters, buffers and child modules registered by name, so
 * that {@link #stateDict()} uses PyTorch's names ({@code blocks.0.attn.qkv.weight}); train/eval mode;
 * freezing; dtype conversion; parameter counts.
 *
 * <pre>{@code
 * final class TwoLayer extends Module {
 *     final Linear fc1, fc2;
 *     TwoLayer(Generator gen) {
 *         fc1 = child("fc1", new Linear(gen, 4, 8));
 *         fc2 = child("fc2", new Linear(gen, 8, 2));
 *     }
 *     public Tensor forward(Tensor x) { return fc2.forward(fc1.forward(x).relu()); }
 * }
 * }</pre>
 *
 * Order follows PyTorch: a module's own parameters, then its buffers, then each child in
 * registration order, recursively.
 */
public abstract class Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Set<String> transientBuffers = new HashSet<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** The module's computation. Modules that take other inputs offer their own overloads. */
    public abstract Tensor forward(Tensor x);

    // ------------------------------------------------------------------ registration

    /** Registers a trainable parameter (it is marked as requiring a gradient); returns it. */
    protected final Tensor parameter(String name, Tensor value) {
        checkName(name);
        params.put(name, value.requiresGrad(true));
        return value;
    }

    /** Registers a buffer (state that is not trained, such as running statistics); persistent ones are saved. */
    protected final Tensor buffer(String name, Tensor value, boolean persistent) {
        checkName(name);
        buffers.put(name, value);
        if (!persistent) transientBuffers.add(name);
        return value;
    }

    /** Registers a child module; returns it. */
    protected final <M extends Module> M child(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": invalid member name '" + name + "'");
        }
        if (params.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": '" + name + "' is registered twice");
        }
    }

    // ------------------------------------------------------------------ traversal

    /** Direct children by name. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** This module ("") and all descendants by dotted name, depth first. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        children.forEach((n, c) -> c.collectModules(prefix.isEmpty() ? n : prefix + "." + n, out));
    }

    /** Every parameter by dotted name; a parameter shared by two modules appears once, under its first name. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        namedModules().forEach((prefix, m) -> m.params.forEach((n, t) -> {
            if (seen.add(t)) out.put(prefix.isEmpty() ? n : prefix + "." + n, t);
        }));
        return out;
    }

    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Every buffer by dotted name, persistent or not. */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedModules().forEach((prefix, m) -> m.buffers.forEach((n, t) -> out.put(prefix.isEmpty() ? n : prefix + "." + n, t)));
        return out;
    }

    /** Parameters and persistent buffers by PyTorch name, in PyTorch's order. The tensors are the live ones. */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out);
        return out;
    }

    private void collectState(String prefix, Map<String, Tensor> out) {
        params.forEach((n, t) -> out.put(prefix + n, t));
        buffers.forEach((n, t) -> {
            if (!transientBuffers.contains(n)) out.put(prefix + n, t);
        });
        children.forEach((n, c) -> c.collectState(prefix + n + ".", out));
    }

    /**
     * Copies tensors from {@code state} into this module's parameters and buffers by name (converting
     * dtypes). Strict loading fails, naming every problem, unless the names and shapes match exactly;
     * non-strict loading loads what matches and reports the rest.
     */
    public final LoadReport loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) missing.add(e.getKey());
            else if (!src.shape().equals(e.getValue().shape())) {
                mismatched.add(e.getKey() + ": checkpoint " + src.shape() + " vs model " + e.getValue().shape());
            }
        }
        for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        LoadReport report = new LoadReport(missing, unexpected, mismatched);
        if (strict && !report.isClean()) {
            throw new IllegalArgumentException("loadStateDict (strict) into " + getClass().getSimpleName() + ": " + report);
        }
        try (var ignored = Autograd.noGrad()) {
            for (var e : own.entrySet()) {
                Tensor src = state.get(e.getKey());
                if (src != null && src.shape().equals(e.getValue().shape())) e.getValue().copyFrom(src.to(e.getValue().dtype()));
            }
        }
        return report;
    }

    // ------------------------------------------------------------------ modes and conversions

    /** Sets training mode on this module and all descendants; returns this. */
    public final Module train(boolean on) {
        namedModules().values().forEach(m -> m.training = on);
        return this;
    }

    public final Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    /** Stops (or restarts) gradients for every parameter of this subtree. */
    public final Module requiresGrad(boolean on) {
        parameters().forEach(p -> p.requiresGrad(on));
        return this;
    }

    public final Module freeze() {
        return requiresGrad(false);
    }

    public final Module unfreeze() {
        return requiresGrad(true);
    }

    /** Converts floating parameters and buffers to dtype, in place (the tensor objects stay the same). */
    public final Module to(DType dtype) {
        if (!dtype.isFloating()) throw new IllegalArgumentException("Module.to: expected a floating dtype, got " + dtype);
        try (var ignored = Autograd.noGrad()) {
            for (Tensor t : parameters()) t.setData(t.to(dtype).detach());
            for (Tensor t : namedBuffers().values()) if (t.dtype().isFloating()) t.setData(t.to(dtype).detach());
        }
        return this;
    }

    /**
     * Moves every parameter and buffer to device, in place (the tensor objects stay, as with
     * {@link #to(DType)}): an optimizer made before or after keeps working, and creates its state
     * on the parameters' device. Gradients are dropped.
     */
    public final Module to(Device device) {
        try (var ignored = Autograd.noGrad()) {
            for (Tensor t : parameters()) t.setData(t.to(device));
            for (Tensor t : namedBuffers().values()) t.setData(t.to(device));
        }
        return this;
    }

    /** The device of this module's parameters (the host when it has none). */
    public final Device device() {
        List<Tensor> ps = parameters();
        return ps.isEmpty() ? Device.cpu() : ps.getFirst().device();
    }

    /** Hands gen to every module that draws random numbers in forward (dropout, drop path). */
    public final Module setGenerator(Generator gen) {
        for (Module m : namedModules().values()) if (m instanceof Stochastic s) s.generator(gen);
        return this;
    }

    /** Drops every parameter's gradient. */
    public final void zeroGrad() {
        parameters().forEach(Tensor::zeroGrad);
    }

    public final long parameterCount() {
        return parameters().stream().mapToLong(Tensor::numel).sum();
    }

    public final long trainableParameterCount() {
        return parameters().stream().filter(Tensor::requiresGrad).mapToLong(Tensor::numel).sum();
    }

    /** What the module's one-line description shows inside its parentheses. */
    protected String extraRepr() {
        return "";
    }

    /** A PyTorch-style tree: {@code Linear(in_features=4, out_features=8, bias=true)}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append('(').append(extraRepr());
        if (!children.isEmpty()) {
            sb.append('\n');
            children.forEach((n, c) -> sb.append("  (").append(n).append("): ")
                    .append(c.toString().replace("\n", "\n  ")).append('\n'));
        }
        return sb.append(')').toString();
    }
}
