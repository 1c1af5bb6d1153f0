package dev.peco4j.nn;

import dev.peco4j.tensor.Tensor;
import java.util.function.UnaryOperator;

/** Parameter-free elementwise layers, as modules so they can sit in a {@link Sequential}. */
public final class Activations {
    private Activations() {}

    /** A module applying one function; its name is what PyTorch prints. */
    public static final class Elementwise extends Module {
        private final String name;
        private final UnaryOperator<Tensor> f;

        Elementwise(String name, UnaryOperator<Tensor> f) {
            this.name = name;
            this.f = f;
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
        return new Elementwise("GELU()", Tensor::gelu);
    }

    public static Elementwise silu() {
        return new Elementwise("SiLU()", Tensor::silu);
    }

    public static Elementwise relu() {
        return new Elementwise("ReLU()", Tensor::relu);
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
