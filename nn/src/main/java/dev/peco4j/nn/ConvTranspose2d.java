package dev.peco4j.nn;

import dev.peco4j.tensor.Conv2dParams;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/** Transposed 2-D convolution; weight (in, out/groups, k, k) as PyTorch stores it. */
public final class ConvTranspose2d extends Module {
    public final Conv2d.Config config;
    public final int outputPadding;
    public final Tensor weight;
    public final Tensor bias;
    private final Conv2dParams params;

    public ConvTranspose2d(Generator gen, Conv2d.Config c, int outputPadding) {
        this.config = c;
        this.outputPadding = outputPadding;
        this.weight = parameter("weight", Tensor.zeros(DType.FLOAT32, c.in(), c.out() / c.groups(), c.kernel(), c.kernel()));
        this.bias = c.bias() ? parameter("bias", Tensor.zeros(DType.FLOAT32, c.out())) : null;
        this.params = Conv2dParams.of(c.stride(), c.padding(), c.dilation(), c.groups()).withOutputPadding(outputPadding, outputPadding);
        Init.pytorchDefault(weight, bias, gen);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.convTranspose2d(x, weight, bias, params);
    }

    @Override
    protected String extraRepr() {
        return config.in() + ", " + config.out() + ", kernel_size=" + config.kernel() + ", stride=" + config.stride();
    }
}
