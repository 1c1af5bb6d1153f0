package dev.peco4j.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode autodiff: recording graph nodes, the backward pass, and the no-grad scope.
 *
 * <pre>{@code
 * Tensor w = Tensor.randn(gen, 3, 2).requiresGrad(true);
 * Tensor loss = x.matmul(w).square().mean();
 * loss.backward();                 // w.grad() now holds d loss / d w
 * try (var ignored = Autograd.noGrad()) {
 *     w.addInPlace(w.grad(), -0.1); // an update that is not recorded
 * }
 * }</pre>
 *
 * Gradients accumulate ({@code +=}) into leaves, never assign, so a tensor used twice gets both
 * contributions. Backward itself runs without recording (no higher-order gradients). Which inputs
 * of an op receive a gradient is fixed when the op is recorded, as in PyTorch: a module frozen for
 * one forward (a GAN's discriminator in the generator's loss) gets no gradient from that graph even
 * if it is unfrozen before backward.
 */
public final class Autograd {
    private static final ThreadLocal<int[]> NO_GRAD_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private Autograd() {}

    /** A scope in which no graph is recorded; close it (try-with-resources) to restore recording. */
    public static final class NoGrad implements AutoCloseable {
        private boolean closed;

        private NoGrad() {
            NO_GRAD_DEPTH.get()[0]++;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                NO_GRAD_DEPTH.get()[0]--;
            }
        }
    }

    public static NoGrad noGrad() {
        return new NoGrad();
    }

    /** True unless the current thread is inside a {@link #noGrad()} scope. */
    public static boolean isGradEnabled() {
        return NO_GRAD_DEPTH.get()[0] == 0;
    }

    /**
     * Attaches a graph node to {@code out} when recording is on and any input requires a gradient;
     * returns {@code out}.
     */
    static Tensor record(String op, Tensor out, Node.Backward backward, Tensor... inputs) {
        if (!isGradEnabled()) return out;
        boolean any = false;
        for (Tensor t : inputs) any |= t.requiresGrad();
        if (!any) return out;
        if (!out.dtype().isFloating()) {
            throw new IllegalStateException(op + ": a " + out.dtype() + " result cannot carry a gradient");
        }
        out.attach(new Node(op, backward, inputs));
        return out;
    }

    static Tensor record(Op op, Tensor out, Node.Backward backward, Tensor... inputs) {
        return record(op.opName(), out, backward, inputs);
    }

    /** Runs the backward pass from {@code root}, seeded with {@code seed} (same shape as root). */
    static void backward(Tensor root, Tensor seed, boolean retainGraph) {
        checkRoot("backward", root, seed);
        run(root, seed, retainGraph, null);
    }

    /**
     * torch.autograd.grad: the gradients of the scalar {@code output} with respect to each of
     * {@code inputs} (leaves or intermediate tensors of its graph), returned instead of accumulated:
     * no tensor's {@link Tensor#grad()} changes. retainGraph keeps the graph for a later backward
     * (VQGAN's adaptive weight takes two such gradients, then backpropagates the total loss). An input
     * the output does not depend on is an error naming its index.
     */
    public static List<Tensor> grad(Tensor output, List<Tensor> inputs, boolean retainGraph) {
        if (output.numel() != 1) {
            throw new IllegalArgumentException("grad: the output has shape " + output.shape()
                    + "; give an upstream gradient for non-scalar outputs");
        }
        return grad(output, output.onesLike(), inputs, retainGraph);
    }

    /** {@link #grad(Tensor, List, boolean)} with an explicit upstream gradient {@code seed} (the output's shape). */
    public static List<Tensor> grad(Tensor output, Tensor seed, List<Tensor> inputs, boolean retainGraph) {
        checkRoot("grad", output, seed);
        Map<Tensor, Tensor> wanted = new IdentityHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            Tensor in = inputs.get(i);
            if (!in.requiresGrad()) {
                throw new IllegalArgumentException("grad: input " + i + " (shape " + in.shape() + ") does not require a gradient");
            }
            wanted.put(in, null);
        }
        run(output, seed, retainGraph, wanted);
        List<Tensor> out = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            Tensor g = wanted.get(inputs.get(i));
            if (g == null) {
                throw new IllegalArgumentException("grad: input " + i + " (shape " + inputs.get(i).shape()
                        + ") is not used in the graph of the output");
            }
            out.add(g);
        }
        return out;
    }

    private static void checkRoot(String what, Tensor root, Tensor seed) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException(what + ": the tensor " + root.shape() + " does not require a gradient "
                    + "and has no graph (was it made under noGrad, or from inputs without requiresGrad?)");
        }
        if (!seed.shape().equals(root.shape())) {
            throw new IllegalArgumentException(what + ": gradient shape " + seed.shape()
                    + " does not match the tensor's shape " + root.shape());
        }
    }

    /**
     * The backward pass. With {@code capture} null, gradients accumulate into leaves (and tensors
     * that retain theirs); otherwise nothing accumulates, the gradient reaching each key of capture
     * is stored as its value, and only nodes on a path to a captured tensor run.
     */
    private static void run(Tensor root, Tensor seed, boolean retainGraph, Map<Tensor, Tensor> capture) {
        List<Tensor> order = topologicalOrder(root);
        Set<Tensor> needed = capture == null ? null : leadingTo(order, capture.keySet());
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        Tensor first = seed.to(root.dtype());
        pending.put(root, first);
        // A gradient owns its buffer when it was made in this pass, handed to one tensor only, and is
        // neither the seed's nor any graph tensor's storage. A leaf then takes its first
        // gradient without a copy, and a second gradient of a tensor is summed into the first in place
        // (PyTorch's AccumulateGrad and InputBuffer do the same where the reference count allows).
        long passStart = Storage.newest();
        Set<Storage> foreign = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : order) foreign.add(t.storage);
        foreign.add(first.storage);
        Map<Storage, Integer> handed = new IdentityHashMap<>();
        java.util.function.Predicate<Tensor> owned = g -> g.storage.serial > passStart && !foreign.contains(g.storage)
                && handed.getOrDefault(g.storage, 0) == 1 && g.offset() == 0 && g.isContiguous() && g.numel() == g.storage.length();
        try (NoGrad ignored = noGrad()) {
            for (int k = order.size() - 1; k >= 0; k--) {
                Tensor t = order.get(k);
                Tensor g = pending.remove(t);
                if (g == null) continue;
                Node node = t.node();
                if (capture != null) {
                    if (capture.containsKey(t)) capture.put(t, g);
                } else if (node == null || t.retainsGrad()) {
                    t.accumulateGrad(g, node == null && owned.test(g));
                }
                if (node == null || (needed != null && !feeds(node, needed))) continue;
                Tensor[] grads = node.runBackward(g, retainGraph);
                for (int i = 0; i < grads.length; i++) {
                    Tensor in = node.inputs[i];
                    Tensor gi = grads[i];
                    if (gi == null || !node.needs[i]) continue;
                    if (!gi.shape().equals(in.shape())) {
                        throw new IllegalStateException("backward of '" + node.op + "': gradient of input " + i
                                + " has shape " + gi.shape() + " but the input has shape " + in.shape());
                    }
                    if (gi.dtype() != in.dtype()) {
                        throw new IllegalStateException("backward of '" + node.op + "': gradient of input " + i
                                + " is " + gi.dtype() + " but the input is " + in.dtype());
                    }
                    handed.merge(gi.storage, 1, Integer::sum);
                    Tensor prev = pending.get(in);
                    if (prev == null) {
                        pending.put(in, gi);
                    } else if (owned.test(prev) && gi.device() == prev.device()) {
                        Backends.on(prev).addInto(prev, gi);
                    } else {
                        Tensor sum = prev.add(gi);
                        pending.put(in, sum);
                        handed.merge(sum.storage, 1, Integer::sum);
                    }
                }
            }
        }
    }

    private static boolean feeds(Node node, Set<Tensor> needed) {
        for (Tensor in : node.inputs) if (needed.contains(in)) return true;
        return false;
    }

    /** The tensors of a topological order from which a target can be reached (targets included). */
    private static Set<Tensor> leadingTo(List<Tensor> order, Set<Tensor> targets) {
        Set<Tensor> leads = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : order) {                      // inputs come before the tensors made from them
            boolean yes = targets.contains(t);
            Node node = t.node();
            if (!yes && node != null) for (Tensor in : node.inputs) yes |= leads.contains(in);
            if (yes) leads.add(t);
        }
        return leads;
    }

    /** Tensors reachable from root through graph nodes, each after all of its inputs (iterative DFS). */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>(); // {tensor, next input index}
        stack.push(new Object[] {root, 0});
        visited.add(root);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            Node node = t.node();
            int next = (Integer) top[1];
            if (node != null && next < node.inputs.length) {
                top[1] = next + 1;
                Tensor in = node.inputs[next];
                if (node.needs[next] && visited.add(in)) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }
}
