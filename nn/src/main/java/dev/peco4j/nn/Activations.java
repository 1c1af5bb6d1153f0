package dev.peco4j.nn;

import dev.peco4j.tensor.Activation;
import dev.peco4j.tensor.Tensor;
import java.util.function.UnaryOperator;

/** Parameter-free elementwise layers, as modules so they can sit in a {@link Sequential}. */
public final class Activations {
    private Activations() {}

    /** A module applying one function; its name is what PyTorch prints. */
    public static final class Elementwise extends Module {
        private final String name;
        private final UnaryOperator<Tensor> f;
        /** The same function as a GEMM epilogue, or null: a preceding Linear may apply it itself. */
        public final Activation fused;

        Elementwise(String name, UnaryOperator<Tensor> f) {
            this(name, f, null);
        }

        Elementwise(String name, UnaryOperator<Tensor> f, Activation fused) {
            this.name = name;
            this.f = f;
            this.fused = fused;
        }

        @Override
        public Tensor forward(Tensor x) {
            return f.apply(x);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Exact (erf) GELU. */
    public static Elementwise gelu() {
        return new Elementwise("GELU()", Tensor::gelu, Activation.GELU);
    }

    public static Elementwise silu() {
        return new Elementwise("SiLU()", Tensor::silu, Activation.SILU);
    }

    public static Elementwise relu() {
        return new Elementwise("ReLU()", Tensor::relu, Activation.RELU);
    }

    public static Elementwise relu6() {
        return new Elementwise("ReLU6()", Tensor::relu6);
    }

    public static Elementwise tanh() {
        return new Elementwise("Tanh()", Tensor::tanh);
    }

    public static Elementwise leakyRelu(double slope) {
        return new Elementwise("LeakyReLU(negative_slope=" + slope + ")", x -> x.leakyRelu(slope));
    }

    public static Elementwise identity() {
        return new Elementwise("Identity()", x -> x);
    }
}
