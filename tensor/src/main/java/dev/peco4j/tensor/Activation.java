package dev.peco4j.tensor;

/**
 * Activations that {@link Functional#linear(Tensor, Tensor, Tensor, Activation)} applies in the GEMM's
 * epilogue, while each output tile is still in cache, instead of in a separate pass over memory.
 */
public enum Activation {
    IDENTITY(null), RELU(UnaryOps.RELU), GELU(UnaryOps.GELU), SILU(UnaryOps.SILU);

    private final UnaryOps.Fn fn;

    Activation(UnaryOps.Fn fn) {
        this.fn = fn;
    }

    /** The elementwise function, or null for the identity. */
    UnaryOps.Fn fn() {
        return fn;
    }
}
