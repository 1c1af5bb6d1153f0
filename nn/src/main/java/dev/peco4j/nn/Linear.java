package dev.peco4j.nn;

import dev.peco4j.tensor.Activation;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/** y = x·Wᵀ + b; x is (…, in), W is (out, in), y is (…, out). PyTorch's default init. */
public final class Linear extends Module {
    public final int in, out;
    public final Tensor weight;
    public final Tensor bias;

    public Linear(Generator gen, int in, int out) {
        this(gen, in, out, true);
    }

    public Linear(Generator gen, int in, int out, boolean bias) {
        if (in < 1 || out < 1) throw new IllegalArgumentException("Linear: sizes must be >= 1, got in=" + in + ", out=" + out);
        this.in = in;
        this.out = out;
        this.weight = parameter("weight", Tensor.zeros(DType.FLOAT32, out, in));
        this.bias = bias ? parameter("bias", Tensor.zeros(DType.FLOAT32, out)) : null;
        Init.pytorchDefault(weight, this.bias, gen);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.linear(x, weight, bias);
    }

    /** act(x·wᵀ + b), the activation applied in the GEMM's epilogue. */
    public Tensor forward(Tensor x, Activation act) {
        return Functional.linear(x, weight, bias, act);
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + in + ", out_features=" + out + ", bias=" + (bias != null);
    }
}
