package dev.peco4j.nn;

import dev.peco4j.tensor.Conv2dParams;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/** 2-D convolution, x (N, in, H, W) → (N, out, OH, OW); weight (out, in/groups, k, k). PyTorch's default init. */
public final class Conv2d extends Module {
    /** Square kernel, stride, padding and dilation, as most models use them. */
    public record Config(int in, int out, int kernel, int stride, int padding, int dilation, int groups, boolean bias) {
        public Config {
            if (in < 1 || out < 1 || kernel < 1 || groups < 1 || in % groups != 0 || out % groups != 0) {
                throw new IllegalArgumentException("Conv2d: invalid channels/kernel/groups: in=" + in + ", out=" + out
                        + ", kernel=" + kernel + ", groups=" + groups + " (channels must divide by groups)");
            }
        }

        /** kernel k, stride 1, padding 0, no dilation, no groups, with bias. */
        public static Config of(int in, int out, int kernel) {
            return new Config(in, out, kernel, 1, 0, 1, 1, true);
        }

        public Config stride(int s) {
            return new Config(in, out, kernel, s, padding, dilation, groups, bias);
        }

        public Config padding(int p) {
            return new Config(in, out, kernel, stride, p, dilation, groups, bias);
        }

        public Config groups(int g) {
            return new Config(in, out, kernel, stride, padding, dilation, g, bias);
        }

        public Config bias(boolean b) {
            return new Config(in, out, kernel, stride, padding, dilation, groups, b);
        }
    }

    public final Config config;
    public final Tensor weight;
    public final Tensor bias;
    private final Conv2dParams params;

    public Conv2d(Generator gen, Config c) {
        this.config = c;
        this.weight = parameter("weight", Tensor.zeros(DType.FLOAT32, c.out(), c.in() / c.groups(), c.kernel(), c.kernel()));
        this.bias = c.bias() ? parameter("bias", Tensor.zeros(DType.FLOAT32, c.out())) : null;
        this.params = Conv2dParams.of(c.stride(), c.padding(), c.dilation(), c.groups());
        Init.pytorchDefault(weight, bias, gen);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight, bias, params);
    }

    @Override
    protected String extraRepr() {
        return config.in() + ", " + config.out() + ", kernel_size=" + config.kernel() + ", stride=" + config.stride()
                + ", padding=" + config.padding() + (config.groups() > 1 ? ", groups=" + config.groups() : "");
    }
}
