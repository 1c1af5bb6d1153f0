package dev.peco4j.nn;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;

/**
 * Initializers as named functions that fill a tensor in place (PyTorch's {@code nn.init}), plus
 * BEiT's rules. Fans follow PyTorch: fan_in = size(1)·receptive field, fan_out = size(0)·receptive field.
 */
public final class Init {
    private Init() {}

    public enum FanMode { FAN_IN, FAN_OUT }

    private static Tensor fill(Tensor t, Tensor values) {
        try (var ignored = Autograd.noGrad()) {
            return t.copyFrom(values);
        }
    }

    public static Tensor uniform(Tensor t, Generator gen, double low, double high) {
        return fill(t, Tensor.uniform(gen, t.dtype(), low, high, t.shape().dims()));
    }

    public static Tensor normal(Tensor t, Generator gen, double mean, double std) {
        return fill(t, Tensor.normal(gen, t.dtype(), mean, std, t.shape().dims()));
    }

    /** Normal(mean, std) truncated to [a, b] (timm's trunc_normal_; note a and b are absolute bounds). */
    public static Tensor truncNormal(Tensor t, Generator gen, double mean, double std, double a, double b) {
        return fill(t, Tensor.truncatedNormal(gen, t.dtype(), mean, std, a, b, t.shape().dims()));
    }

    /** BEiT's pre-training init: trunc_normal_(std) called as (tensor, mean=0, std, a=−std, b=std), so bounds are ±1 std. */
    public static Tensor beitTruncNormal(Tensor t, Generator gen, double std) {
        return truncNormal(t, gen, 0, std, -std, std);
    }

    public static Tensor constant(Tensor t, double value) {
        try (var ignored = Autograd.noGrad()) {
            return t.fill(value);
        }
    }

    public static Tensor zeros(Tensor t) {
        return constant(t, 0);
    }

    public static Tensor ones(Tensor t) {
        return constant(t, 1);
    }

    /** {fan_in, fan_out}; tensors need at least 2 dims. */
    public static int[] fans(Tensor t) {
        if (t.dim() < 2) throw new IllegalArgumentException("init: fan in and fan out need at least 2 dims, got " + t.shape());
        int receptive = t.numel() / (t.size(0) * t.size(1));
        return new int[] {t.size(1) * receptive, t.size(0) * receptive};
    }

    /** PyTorch's calculate_gain: linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1+a²)), selu 3/4. */
    public static double gain(String nonlinearity, double param) {
        return switch (nonlinearity) {
            case "linear", "conv1d", "conv2d", "conv3d", "sigmoid" -> 1;
            case "tanh" -> 5.0 / 3;
            case "relu" -> Math.sqrt(2);
            case "leaky_relu" -> Math.sqrt(2 / (1 + param * param));
            case "selu" -> 0.75;
            default -> throw new IllegalArgumentException("init: unknown nonlinearity '" + nonlinearity + "'");
        };
    }

    public static Tensor xavierUniform(Tensor t, Generator gen, double gain) {
        int[] f = fans(t);
        double a = gain * Math.sqrt(6.0 / (f[0] + f[1]));
        return uniform(t, gen, -a, a);
    }

    public static Tensor xavierNormal(Tensor t, Generator gen, double gain) {
        int[] f = fans(t);
        return normal(t, gen, 0, gain * Math.sqrt(2.0 / (f[0] + f[1])));
    }

    /** He init: bound = gain·√(3 / fan), gain from the nonlinearity (a = negative slope for leaky_relu). */
    public static Tensor kaimingUniform(Tensor t, Generator gen, double a, FanMode mode, String nonlinearity) {
        int fan = fans(t)[mode == FanMode.FAN_IN ? 0 : 1];
        double bound = gain(nonlinearity, a) * Math.sqrt(3.0 / fan);
        return uniform(t, gen, -bound, bound);
    }

    public static Tensor kaimingNormal(Tensor t, Generator gen, double a, FanMode mode, String nonlinearity) {
        int fan = fans(t)[mode == FanMode.FAN_IN ? 0 : 1];
        return normal(t, gen, 0, gain(nonlinearity, a) / Math.sqrt(fan));
    }

    /**
     * PyTorch's default for Linear and Conv weights: kaiming_uniform(a = √5), i.e. U(−1/√fan_in, 1/√fan_in),
     * and the same bound for the bias.
     */
    static void pytorchDefault(Tensor weight, Tensor bias, Generator gen) {
        kaimingUniform(weight, gen, Math.sqrt(5), FanMode.FAN_IN, "leaky_relu");
        if (bias != null) {
            double bound = 1 / Math.sqrt(fans(weight)[0]);
            uniform(bias, gen, -bound, bound);
        }
    }

    /** BEiT's fix-up: block l (1-indexed) divides attn.proj.weight and mlp.fc2.weight by √(2l). */
    public static void rescaleBeitBlocks(List<Block> blocks) {
        try (var ignored = Autograd.noGrad()) {
            for (int i = 0; i < blocks.size(); i++) {
                double s = 1 / Math.sqrt(2.0 * (i + 1));
                blocks.get(i).attn.proj.weight.mulInPlace(s);
                blocks.get(i).mlp.fc2.weight.mulInPlace(s);
            }
        }
    }
}
