package dev.peco4j.tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * A differentiable function with a hand-written backward, for fused ops in {@code nn} and
 * {@code peco} (PyTorch's autograd.Function). Forward runs without recording; backward receives
 * the output's gradient and returns one gradient per input (null where none is needed).
 * Gradient-check it with {@link GradCheck}.
 *
 * <pre>{@code
 * CustomFunction square = new CustomFunction("square") {
 *     protected Tensor forward(Context ctx, Tensor... in) { ctx.save(in[0]); return in[0].mul(in[0]); }
 *     protected Tensor[] backward(Context ctx, Tensor g) { return new Tensor[] {g.mul(ctx.saved(0)).mul(2.0)}; }
 * };
 * Tensor y = square.apply(x);
 * }</pre>
 */
public abstract class CustomFunction {
    private final String name;

    protected CustomFunction(String name) {
        this.name = name;
    }

    public final String name() {
        return name;
    }

    /** What forward leaves for backward: saved tensors, named values, and which inputs need a gradient. */
    public static final class Context {
        private Tensor[] saved = new Tensor[0];
        private final Map<String, Object> values = new HashMap<>();
        private boolean[] needsInputGrad;

        public void save(Tensor... tensors) {
            saved = tensors.clone();
        }

        public Tensor saved(int i) {
            return saved[i];
        }

        public void put(String key, Object value) {
            values.put(key, value);
        }

        @SuppressWarnings("unchecked")
        public <T> T get(String key) {
            return (T) values.get(key);
        }

        /** Valid in backward: whether input i requires a gradient. */
        public boolean needsInputGrad(int i) {
            return needsInputGrad[i];
        }
    }

    protected abstract Tensor forward(Context ctx, Tensor... inputs);

    protected abstract Tensor[] backward(Context ctx, Tensor gradOutput);

    /** Runs forward and, when recording, attaches a node named after this function. */
    public final Tensor apply(Tensor... inputs) {
        Context ctx = new Context();
        Tensor out;
        try (var ignored = Autograd.noGrad()) {
            out = forward(ctx, inputs);
        }
        out = out.detach(); // a fresh tensor object to carry the node, even if forward returned an input
        return Autograd.record(name, out, (g, needs) -> {
            ctx.needsInputGrad = needs;
            return backward(ctx, g);
        }, inputs);
    }
}
