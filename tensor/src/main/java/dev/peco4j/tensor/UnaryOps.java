package dev.peco4j.tensor;

import java.util.function.DoubleUnaryOperator;

/**
 * Elementwise unary primitives: a table of (forward f(x), derivative f'(x, y)) pairs, one line each,
 * and the single graph op that applies any of them. The derivative may use the saved output y
 * (exp, tanh, sigmoid, sqrt) or the input x.
 *
 * <p>At kinks the derivative follows PyTorch: relu'(0) = 0, |x|'(0) = 0, clamp passes the gradient
 * for min ≤ x ≤ max, relu6 for 0 < x < 6.
 */
public final class UnaryOps {
    private UnaryOps() {}

    /** dy/dx at input x with output y. */
    @FunctionalInterface
    public interface Derivative {
        double at(double x, double y);
    }

    /** One unary primitive: its op, forward and derivative. Parameterized ones carry their parameters. */
    public record Fn(Op op, DoubleUnaryOperator f, Derivative df, double p0, double p1) {
        Fn(Op op, DoubleUnaryOperator f, Derivative df) {
            this(op, f, df, Double.NaN, Double.NaN);
        }
    }

    private static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    static final Fn NEG = new Fn(Op.NEG, x -> -x, (x, y) -> -1);
    static final Fn EXP = new Fn(Op.EXP, Math::exp, (x, y) -> y);
    static final Fn LOG = new Fn(Op.LOG, Math::log, (x, y) -> 1 / x);
    static final Fn SQRT = new Fn(Op.SQRT, Math::sqrt, (x, y) -> 0.5 / y);
    static final Fn RSQRT = new Fn(Op.RSQRT, x -> 1 / Math.sqrt(x), (x, y) -> -0.5 * y * y * y);
    static final Fn ABS = new Fn(Op.ABS, Math::abs, (x, y) -> Math.signum(x));
    static final Fn SIGN = new Fn(Op.SIGN, Math::signum, (x, y) -> 0);
    static final Fn SIN = new Fn(Op.SIN, Math::sin, (x, y) -> Math.cos(x));
    static final Fn COS = new Fn(Op.COS, Math::cos, (x, y) -> -Math.sin(x));
    static final Fn TANH = new Fn(Op.TANH, Math::tanh, (x, y) -> 1 - y * y);
    static final Fn SIGMOID = new Fn(Op.SIGMOID, UnaryOps::sigmoid, (x, y) -> y * (1 - y));
    static final Fn RELU = new Fn(Op.RELU, x -> x > 0 ? x : 0, (x, y) -> x > 0 ? 1 : 0);
    static final Fn RELU6 = new Fn(Op.RELU6, x -> Math.min(Math.max(x, 0), 6), (x, y) -> x > 0 && x < 6 ? 1 : 0);
    /** Exact GELU: x·Φ(x); derivative Φ(x) + x·φ(x). */
    static final Fn GELU = new Fn(Op.GELU, x -> x * SpecialFunctions.normalCdf(x),
            (x, y) -> SpecialFunctions.normalCdf(x) + x * SpecialFunctions.normalPdf(x));
    /** SiLU: x·σ(x); derivative σ(x)·(1 + x·(1 − σ(x))). */
    static final Fn SILU = new Fn(Op.SILU, x -> x * sigmoid(x), (x, y) -> {
        double s = sigmoid(x);
        return s * (1 + x * (1 - s));
    });

    static Fn leakyRelu(double slope) {
        return new Fn(Op.LEAKY_RELU, x -> x > 0 ? x : slope * x, (x, y) -> x > 0 ? 1 : slope, slope, Double.NaN);
    }

    /** clamp to [min, max]; either bound may be infinite. */
    static Fn clamp(double min, double max) {
        if (min > max) throw new IllegalArgumentException("clamp: min " + min + " > max " + max);
        return new Fn(Op.CLAMP, x -> Math.min(Math.max(x, min), max), (x, y) -> x >= min && x <= max ? 1 : 0, min, max);
    }

    /** x^p for a constant exponent p. */
    static Fn powScalar(double p) {
        return new Fn(Op.POW_SCALAR, x -> Math.pow(x, p), (x, y) -> p == 0 ? 0 : p * Math.pow(x, p - 1), p, Double.NaN);
    }

    /** y = f(x) elementwise; the graph keeps x and y for the derivative. */
    static Tensor apply(Fn fn, Tensor x) {
        String op = fn.op().opName();
        requireFloating(x, op);
        Tensor y = Backends.on(x).map(fn, x);
        return Autograd.record(fn.op(), y, (g, needs) -> new Tensor[] {Backends.on(fn.op().opName(), x, g).mapBackward(fn, x, y, g)}, x);
    }

    static void requireFloating(Tensor x, String op) {
        if (!x.dtype().isFloating()) {
            throw new IllegalArgumentException(op + ": expected a float32 or float64 tensor, got " + x.dtype()
                    + " " + x.shape());
        }
    }
}
