package dev.peco4j.peco.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * VQGAN's adaptive weight ‖∇_W nll‖ / (‖∇_W g‖ + 1e-4) in float64: both gradients on the decoder's
 * last layer W match central finite differences, the weight is their norms' ratio, and taking them
 * leaves every gradient buffer untouched (the step's own backward comes after).
 */
class AdaptiveWeightTest {
    @Test
    void bothGradientsMatchFiniteDifferencesAndTheWeightIsTheirNormsRatio() {
        VQModel m = new VQModel(new Generator(4), VQModelParityTest.TINY);
        m.to(DType.FLOAT64);
        m.train(true);
        Tensor x = Tensor.rand(new Generator(5), 2, 3, 16, 16).to(DType.FLOAT64).mul(2.0).sub(1.0);
        Tensor w = m.decoder.lastLayer();
        java.util.function.Supplier<Tensor[]> losses = () -> {
            Tensor rec = m.forward(x);
            return new Tensor[] {rec.sub(x).square().mean(), m.loss.discriminator.forward(rec).mean().neg()};
        };
        m.quantize.train(false);                                // the codes stay put while W moves
        m.loss.discriminator.eval();                            // and D is a fixed function
        Tensor[] l = losses.get();
        List<Tensor> nllGrad = Autograd.grad(l[0], List.of(w), true), gGrad = Autograd.grad(l[1], List.of(w), true);
        m.namedParameters().forEach((n, p) -> assertNull(p.grad(), n + " has no gradient buffer after Autograd.grad"));
        double weight = TokenizerTrainer.adaptiveWeight(l[0], l[1], w);
        l[0].add(l[1]).backward();                              // the retained graph still backpropagates
        assertArrayEquals(nllGrad.get(0).add(gGrad.get(0)).toDoubleArray(), w.grad().toDoubleArray(), 1e-12);
        // central differences on every 9th element of W (48 of 432: the check's cost is 4 forwards per element)
        double[] gn = nllGrad.get(0).toDoubleArray(), gg = gGrad.get(0).toDoubleArray();
        for (int i = 0; i < gn.length; i += 9) {
            assertEquals(central(() -> losses.get()[0].item(), w, i), gn[i], 1e-7, "d nll / d W[" + i + "]");
            assertEquals(central(() -> losses.get()[1].item(), w, i), gg[i], 1e-7, "d g / d W[" + i + "]");
        }
        assertEquals(nllGrad.get(0).norm().item() / (gGrad.get(0).norm().item() + 1e-4), weight, 1e-12, "the norms' ratio");
    }

    /** ∂f/∂x[i] by central differences (float64, step 1e-6), x restored after. */
    static double central(java.util.function.Supplier<Double> f, Tensor x, int i) {
        try (var ignored = Autograd.noGrad()) {
            double[] v = x.toDoubleArray();
            double keep = v[i];
            v[i] = keep + 1e-6;
            x.copyFrom(Tensor.of(v, x.shape().dims()));
            double plus = f.get();
            v[i] = keep - 1e-6;
            x.copyFrom(Tensor.of(v, x.shape().dims()));
            double minus = f.get();
            v[i] = keep;
            x.copyFrom(Tensor.of(v, x.shape().dims()));
            return (plus - minus) / 2e-6;
        }
    }
}
