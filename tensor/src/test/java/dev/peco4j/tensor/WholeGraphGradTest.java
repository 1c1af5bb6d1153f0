package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.testing.Property;
import org.junit.jupiter.api.Test;

/** Whole networks against finite differences in float64: every parameter's gradient is checked. */
class WholeGraphGradTest {
    private static Tensor param(Generator gen, double scale, int... shape) {
        return Tensor.normal(gen, DType.FLOAT64, 0, scale, shape).requiresGrad(true);
    }

    @Test
    void twoLayerMlpWithSoftmaxCrossEntropy() {
        Property.check("mlp gradient", 5, g -> {
            Generator gen = new Generator(g.seed());
            int batch = g.intIn(2, 5), in = g.intIn(2, 6), hidden = g.intIn(2, 8), classes = g.intIn(2, 5);
            Tensor x = Tensor.normal(gen, DType.FLOAT64, 0, 1, batch, in);
            Tensor y = Tensor.randint(gen, 0, classes, batch);
            Tensor w1 = param(gen, 0.5, hidden, in), b1 = param(gen, 0.1, hidden);
            Tensor w2 = param(gen, 0.5, classes, hidden), b2 = param(gen, 0.1, classes);
            GradCheck.Report r = GradCheck.check("mlp", p -> {
                Tensor h = Functional.linear(x, p[0], p[1]).tanh();
                return Functional.crossEntropy(Functional.linear(h, p[2], p[3]), y, 0.0);
            }, GradCheck.Options.defaults(g.seed()).withMode(GradCheck.Mode.FULL), w1, b1, w2, b2);
            assertTrue(r.ops().containsAll(java.util.List.of("linear", "cross_entropy", "tanh")), r.ops().toString());
        });
    }

    @Test
    void smallConvNet() {
        Property.check("conv net gradient", 3, g -> {
            Generator gen = new Generator(g.seed());
            int n = 2, c = 2, h = 6, w = 6, ch = 4, classes = 3;
            Tensor x = Tensor.normal(gen, DType.FLOAT64, 0, 1, n, c, h, w);
            Tensor y = Tensor.randint(gen, 0, classes, n);
            Tensor wc = param(gen, 0.4, ch, c, 3, 3), bc = param(gen, 0.1, ch);
            Tensor gamma = Tensor.normal(gen, DType.FLOAT64, 1, 0.1, ch).requiresGrad(true), beta = param(gen, 0.1, ch);
            Tensor wl = param(gen, 0.4, classes, ch * 3 * 3), bl = param(gen, 0.1, classes);
            GradCheck.Report r = GradCheck.check("conv net", p -> {
                Tensor t = Functional.conv2d(x, p[0], p[1], Conv2dParams.of(1, 1, 1, 1)); // (2,4,6,6)
                t = Functional.groupNorm(t, 2, p[2], p[3], 1e-5).silu();
                t = Functional.avgPool2d(t, Pool2dParams.of(2, 2, 0));                  // (2,4,3,3)
                return Functional.crossEntropy(Functional.linear(t.flatten(1, -1), p[4], p[5]), y, 0.1);
            }, GradCheck.Options.defaults(g.seed()).withMode(GradCheck.Mode.FULL), wc, bc, gamma, beta, wl, bl);
            assertTrue(r.ops().containsAll(java.util.List.of("conv2d", "silu", "avg_pool2d", "linear", "group_norm")),
                    r.ops().toString());
        });
    }

    @Test
    void inputGradientOfConvNetInFastMode() {
        // the fast (random projection) mode on a larger input
        Generator gen = new Generator(7);
        Tensor x = Tensor.normal(gen, DType.FLOAT64, 0, 1, 2, 3, 16, 16).requiresGrad(true);
        Tensor wc = Tensor.normal(gen, DType.FLOAT64, 0, 0.3, 4, 3, 3, 3);
        GradCheck.Report r = GradCheck.check("conv stride 2", p -> Functional.conv2d(p[0], wc, null, Conv2dParams.of(2, 1, 1, 1))
                .relu().mean(), GradCheck.Options.defaults(7).withMode(GradCheck.Mode.FAST), x);
        assertTrue(r.mode() == GradCheck.Mode.FAST && r.comparisons() == 3);
    }
}
