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
 * contributions. Backward itself runs without recording (no higher-order gradients).
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
        if (!root.requiresGrad()) {
            throw new IllegalStateException("backward: the tensor " + root.shape() + " does not require a gradient "
                    + "and has no graph (was it made under noGrad, or from inputs without requiresGrad?)");
        }
        if (!seed.shape().equals(root.shape())) {
            throw new IllegalArgumentException("backward: gradient shape " + seed.shape()
                    + " does not match the tensor's shape " + root.shape());
        }
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        pending.put(root, seed.to(root.dtype()));
        try (NoGrad ignored = noGrad()) {
            for (int k = order.size() - 1; k >= 0; k--) {
                Tensor t = order.get(k);
                Tensor g = pending.remove(t);
                if (g == null) continue;
                Node node = t.node();
                if (node == null || t.retainsGrad()) t.accumulateGrad(g);
                if (node == null) continue;
                Tensor[] grads = node.runBackward(g, retainGraph);
                for (int i = 0; i < grads.length; i++) {
                    Tensor in = node.inputs[i];
                    Tensor gi = grads[i];
                    if (gi == null || !in.requiresGrad()) continue;
                    if (!gi.shape().equals(in.shape())) {
                        throw new IllegalStateException("backward of '" + node.op + "': gradient of input " + i
                                + " has shape " + gi.shape() + " but the input has shape " + in.shape());
                    }
                    if (gi.dtype() != in.dtype()) {
                        throw new IllegalStateException("backward of '" + node.op + "': gradient of input " + i
                                + " is " + gi.dtype() + " but the input is " + in.dtype());
                    }
                    pending.merge(in, gi, Tensor::add);
                }
            }
        }
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
                if (in.requiresGrad() && visited.add(in)) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }
}
