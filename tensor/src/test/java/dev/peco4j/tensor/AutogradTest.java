package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The engine's behaviour: accumulation, order, scopes, freeing, custom functions. */
class AutogradTest {
    /** A CustomFunction that saves nothing: forward of the inputs, backward of the upstream gradient. */
    private static CustomFunction stateless(String name, Function<Tensor[], Tensor> forward,
                                            Function<Tensor, Tensor[]> backward) {
        return new CustomFunction(name) {
            @Override
            protected Tensor forward(Context ctx, Tensor... in) {
                return forward.apply(in);
            }

            @Override
            protected Tensor[] backward(Context ctx, Tensor g) {
                return backward.apply(g);
            }
        };
    }

    private static Tensor leaf(double... v) {
        return Tensor.of(v, v.length).requiresGrad(true);
    }

    @Test
    void aTensorUsedTwiceGetsBothContributions() {
        Tensor x = leaf(3);
        x.mul(x).add(x).sum().backward(); // d(x² + x)/dx = 2x + 1
        assertEquals(7, x.grad().item(), 0);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = leaf(1, 2);
        x.mul(3.0).sum().backward();
        x.mul(3.0).sum().backward();
        assertArrayEquals(new double[] {6, 6}, x.grad().toDoubleArray());
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void diamondGraphsVisitEachNodeOnceInTopologicalOrder() {
        Tensor x = leaf(2);
        Tensor a = x.exp();
        Tensor b = a.mul(a.sin()).add(a.square()); // two paths from a
        b.sum().backward();
        double e = Math.exp(2);
        assertEquals(e * (Math.sin(e) + e * Math.cos(e) + 2 * e), x.grad().item(), 1e-9);
    }

    @Test
    void deepChainsDoNotOverflowTheStack() {
        Tensor x = leaf(1);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) y = y.add(1.0);
        y.sum().backward();
        assertEquals(1, x.grad().item(), 0);
    }

    @Test
    void noGradScopeRecordsNothingAndNests() {
        Tensor x = leaf(1);
        try (var outer = Autograd.noGrad()) {
            try (var inner = Autograd.noGrad()) {
                assertFalse(x.mul(2.0).requiresGrad());
            }
            assertFalse(Autograd.isGradEnabled());
        }
        assertTrue(Autograd.isGradEnabled());
        assertTrue(x.mul(2.0).requiresGrad());
    }

    @Test
    void detachCutsTheGraphAndSharesData() {
        Tensor x = leaf(1, 2);
        Tensor d = x.mul(2.0).detach();
        assertFalse(d.requiresGrad());
        assertTrue(d.isLeaf());
        Tensor y = x.mul(d).sum(); // d is a constant here
        y.backward();
        assertArrayEquals(new double[] {2, 4}, x.grad().toDoubleArray());
    }

    @Test
    void straightThroughTakesTheValueOfQAndTheGradientOfX() {
        Tensor x = leaf(0.4, 1.6);
        Tensor q = x.detach().mul(0.0).add(Tensor.of(new double[] {0, 2}, 2)); // "quantized"
        Tensor st = Tensor.straightThrough(x, q);
        assertArrayEquals(new double[] {0, 2}, st.toDoubleArray());
        st.mul(Tensor.of(new double[] {3, 5}, 2)).sum().backward();
        assertArrayEquals(new double[] {3, 5}, x.grad().toDoubleArray());
    }

    @Test
    void backwardTwiceThroughAFreedGraphFailsClearly() {
        Tensor x = leaf(1, 2);
        Tensor y = x.exp().sum();
        y.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("already freed") && e.getMessage().contains("retainGraph"), e.getMessage());
    }

    @Test
    void retainGraphAllowsASecondBackward() {
        Tensor x = leaf(1);
        Tensor y = x.exp().sum();
        y.backward(y.onesLike(), true);
        y.backward(y.onesLike(), false);
        assertEquals(2 * Math.E, x.grad().item(), 1e-12);
    }

    @Test
    void retainGradKeepsAnIntermediateGradient() {
        Tensor x = leaf(1, 2);
        Tensor h = x.mul(3.0).retainGrad();
        h.square().sum().backward();
        assertArrayEquals(new double[] {6, 12}, h.grad().toDoubleArray());
        assertArrayEquals(new double[] {18, 36}, x.grad().toDoubleArray());
    }

    @Test
    void backwardWithUpstreamGradient() {
        Tensor x = leaf(1, 2, 3);
        x.mul(2.0).backward(Tensor.of(new double[] {1, 0, -1}, 3));
        assertArrayEquals(new double[] {2, 0, -2}, x.grad().toDoubleArray());
    }

    @Test
    void savedTensorsModifiedInPlaceAreDetected() {
        Tensor x = leaf(1, 2);
        Tensor a = Tensor.of(new double[] {3, 4}, 2);
        Tensor y = x.mul(a).sum();
        a.fill(0);
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("'mul'") && e.getMessage().contains("modified in place"), e.getMessage());
    }

    @Test
    void setDataSwapsALeafsDataAndBreaksGraphsThatSavedIt() {
        Tensor w = leaf(1, 2);
        Tensor y = w.mul(w).sum();
        Tensor before = w;
        w.setData(Tensor.of(new float[] {3, 4, 5}, 3));
        assertTrue(before == w && w.requiresGrad());
        assertEquals(DType.FLOAT32, w.dtype());
        assertEquals(Shape.of(3), w.shape());
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("given new data"), e.getMessage());
        w.mul(2.0).sum().backward();
        assertArrayEquals(new double[] {2, 2, 2}, w.grad().toDoubleArray());
    }

    @Test
    void inPlaceUpdatesOfParametersNeedNoGrad() {
        Tensor w = leaf(1, 2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.addInPlace(w.onesLike(), 1));
        assertTrue(e.getMessage().startsWith("addInPlace: a tensor [2] that requires grad"), e.getMessage());
        try (var ignored = Autograd.noGrad()) {
            w.addInPlace(w.onesLike(), -0.5).mulInPlace(2);
        }
        assertArrayEquals(new double[] {1, 3}, w.toDoubleArray());
    }

    @Test
    void everyNodeKnowsItsOp() {
        Tensor x = leaf(1, 2);
        Tensor y = x.exp().mul(2.0).softmax(0);
        assertEquals("softmax", y.opName());
        assertEquals("mul", y.graphInputs().get(0).opName());
        assertNull(x.opName());
    }

    private static final class Cube extends CustomFunction {
        private final double derivativeScale;

        Cube(double derivativeScale) {
            super(derivativeScale == 3 ? "cube" : "cube-with-wrong-backward");
            this.derivativeScale = derivativeScale;
        }

        @Override
        protected Tensor forward(Context ctx, Tensor... in) {
            ctx.save(in[0]);
            return in[0].mul(in[0]).mul(in[0]);
        }

        @Override
        protected Tensor[] backward(Context ctx, Tensor g) {
            Tensor x = ctx.saved(0);
            return new Tensor[] {ctx.needsInputGrad(0) ? g.mul(x.square()).mul(derivativeScale) : null};
        }
    }

    @Test
    void customFunctionsRecordTheirNameAndPassGradCheck() {
        Tensor x = leaf(0.5, -1.5, 2);
        Tensor y = new Cube(3).apply(x);
        assertEquals("cube", y.opName());
        GradCheck.Report r = GradCheck.check("cube", xs -> new Cube(3).apply(xs[0]).exp(), GradCheck.Options.defaults(1), x);
        assertTrue(r.ops().contains("cube"));
    }

    @Test
    void gradCheckCatchesAWrongBackwardAndNamesIt() {
        Tensor x = leaf(0.5, -1.5, 2);
        GradCheck.Failure f = assertThrows(GradCheck.Failure.class,
                () -> GradCheck.check("cube-with-wrong-backward", xs -> new Cube(2.9).apply(xs[0]), GradCheck.Options.defaults(0x2a), x));
        String m = f.getMessage();
        assertTrue(m.contains("'cube-with-wrong-backward'") && m.contains("seed 0x2a") && m.contains("input 0 (shape [3])")
                && m.contains("analytic") && m.contains("numerical"), m);
    }

    /**
     * A leaf takes its first gradient as it is when that gradient's buffer is its own (made by one
     * backward, for it alone), and a copy otherwise: a gradient handed to two inputs, the seed itself,
     * or a view never ends up shared between two grads or with the caller's tensors.
     */
    @Test
    void aLeafTakesAFreshGradientAsItIsAndCopiesAShared() {
        Tensor[] made = new Tensor[1];
        CustomFunction fresh = stateless("fresh-gradient", in -> in[0].mul(3.0), g -> {
            made[0] = g.mul(3.0);
            return new Tensor[] {made[0]};
        });
        CustomFunction shared = stateless("one-gradient-for-two", in -> in[0].add(in[1]), g -> {
            made[0] = g.mul(1.0);
            return new Tensor[] {made[0], made[0]};
        });
        Tensor x = leaf(1, 2, 3), seed = Tensor.of(new double[] {1, 1, 1}, 3);
        fresh.apply(x).backward(seed);
        assertTrue(x.grad().storage == made[0].storage, "a fresh gradient was copied");
        assertArrayEquals(new double[] {3, 3, 3}, x.grad().toDoubleArray());

        Tensor a = leaf(1, 2, 3), b = leaf(4, 5, 6);
        shared.apply(a, b).backward(seed);
        assertTrue(a.grad().storage != b.grad().storage && a.grad().storage != made[0].storage && b.grad().storage != made[0].storage,
                "a gradient handed to two inputs is shared");

        // backward hands the seed itself to one input
        CustomFunction passThrough = stateless("pass-through", in -> in[0].mul(1.0), g -> new Tensor[] {g});
        Tensor p = leaf(1, 2, 3);
        passThrough.apply(p).backward(seed);
        assertTrue(p.grad().storage != seed.storage, "the grad is the caller's seed");

        Tensor c = leaf(1, 2, 3), d = leaf(4, 5, 6);
        c.add(d).backward(seed);                                   // add hands the seed itself to both inputs
        assertTrue(c.grad().storage != seed.storage && d.grad().storage != seed.storage && c.grad().storage != d.grad().storage);
        Tensor e = leaf(1, 2, 3);
        e.sum().backward();                                        // a stride-0 view of one element: copied
        assertEquals(3, e.grad().storage.length());
    }

    /**
     * A tensor's second gradient is summed into its first in place when the first owns its buffer
     * (made in this pass, handed to that tensor only); a buffer made before the pass, one handed to
     * two inputs, or one returned to the caller of grad() is never written.
     */
    @Test
    void aSecondGradientIsSummedIntoAnOwnedFirstInPlace() {
        Tensor[] made = new Tensor[3];
        CustomFunction times3 = stateless("times-3", in -> in[0].mul(3.0), g -> {
            made[0] = g.mul(3.0);
            return new Tensor[] {made[0]};
        });
        CustomFunction times5 = stateless("times-5", in -> in[0].mul(5.0), g -> {
            made[2] = g.mul(5.0);
            return new Tensor[] {made[2]};
        });
        Tensor x = leaf(1, 2, 3), seed = Tensor.of(new double[] {1, 1, 1}, 3);
        times3.apply(x).add(times5.apply(x)).backward(seed);       // x's gradients 3 and 5, both its own: summed into the first
        assertArrayEquals(new double[] {8, 8, 8}, x.grad().toDoubleArray());
        assertTrue(x.grad().storage == made[0].storage || x.grad().storage == made[2].storage, "the sum was made in a new buffer");

        // a gradient made before the pass (a constant the backward returns) is not written
        Tensor constant = Tensor.of(new double[] {2, 2, 2}, 3);
        CustomFunction returnsConstant = stateless("returns-constant", in -> in[0].mul(2.0), g -> new Tensor[] {constant});
        Tensor u = leaf(1, 2, 3), v = u.mul(1.0);
        v.mul(5.0).add(returnsConstant.apply(v)).backward(seed);   // the second operand's backward runs first
        assertArrayEquals(new double[] {2, 2, 2}, constant.toDoubleArray(), "a constant handed back was summed into");
        assertArrayEquals(new double[] {7, 7, 7}, u.grad().toDoubleArray());

        // a gradient handed to two inputs is not written through either
        CustomFunction shared = stateless("one-gradient-for-two", in -> in[0].add(in[1]), g -> {
            made[1] = g.mul(1.0);
            return new Tensor[] {made[1], made[1]};
        });
        Tensor w = leaf(1, 2, 3), a = w.mul(1.0), b = w.mul(1.0);
        a.mul(4.0).add(shared.apply(a, b)).backward(seed);
        assertArrayEquals(new double[] {1, 1, 1}, made[1].toDoubleArray(), "a gradient handed to two inputs was summed into");
        assertArrayEquals(new double[] {6, 6, 6}, w.grad().toDoubleArray());

        // grad() returns a gradient that was then handed on: the returned one keeps its value
        Tensor p = leaf(1, 2, 3), q = p.mul(1.0);
        Tensor out = times3.apply(q).add(times5.apply(q));
        java.util.List<Tensor> gs = Autograd.grad(out, seed, java.util.List.of(q, p), false);
        assertArrayEquals(new double[] {8, 8, 8}, gs.get(0).toDoubleArray());
        assertArrayEquals(new double[] {8, 8, 8}, gs.get(1).toDoubleArray());
    }

    @Test
    void gradCheckCatchesANonzeroGradientForAZeroUpstream() {
        // wrong: ignores a zero upstream
        CustomFunction leaky = stateless("leaky-backward", in -> in[0].mul(2.0), g -> new Tensor[] {g.mul(2.0).add(1e-3)});
        GradCheck.Failure f = assertThrows(GradCheck.Failure.class, () -> GradCheck.check("leaky-backward",
                xs -> leaky.apply(xs[0]), GradCheck.Options.defaults(3), leaf(1, 2)));
        assertTrue(f.getMessage().contains("leaky-backward"), f.getMessage());
    }

    @Test
    void wrongGradientShapeFromABackwardNamesTheOp() {
        CustomFunction bad = stateless("bad-shape", in -> in[0].mul(2.0), g -> new Tensor[] {g.sum()});
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> bad.apply(leaf(1, 2)).sum().backward());
        assertEquals("backward of 'bad-shape': gradient of input 0 has shape [] but the input has shape [2]", e.getMessage());
    }

    @Test
    void gradReturnsGradientsWithoutTouchingAnyGradField() {
        Generator gen = new Generator(3);
        Tensor w = Tensor.randn(gen, 3, 2).to(DType.FLOAT64).requiresGrad(true);
        Tensor x = Tensor.randn(gen, 4, 3).to(DType.FLOAT64).requiresGrad(true);
        Tensor h = x.matmul(w).tanh();
        Tensor loss = h.square().sum();
        var g = Autograd.grad(loss, java.util.List.of(w, h), true);
        assertNull(w.grad());
        assertNull(x.grad());
        loss.backward();                                   // the retained graph still runs and agrees
        assertArrayEquals(w.grad().toDoubleArray(), g.get(0).toDoubleArray(), 1e-12);
        assertArrayEquals(h.mul(2.0).toDoubleArray(), g.get(1).toDoubleArray(), 1e-12);
    }

    @Test
    void gradMatchesFiniteDifferencesForASecondLossOnTheSameWeights() {
        // the VQGAN pattern: two losses through one layer, each one's gradient on that layer's weight
        Generator gen = new Generator(5);
        Tensor w = Tensor.randn(gen, 2, 2).to(DType.FLOAT64).requiresGrad(true);
        Tensor x = Tensor.randn(gen, 3, 2).to(DType.FLOAT64);
        Tensor y = x.matmul(w);
        Tensor a = y.abs().mean(), b = y.sigmoid().sum().neg();
        Tensor ga = Autograd.grad(a, java.util.List.of(w), true).get(0), gb = Autograd.grad(b, java.util.List.of(w), true).get(0);
        double[] wv = w.toDoubleArray();
        for (int k = 0; k < wv.length; k++) {
            double[] plus = wv.clone(), minus = wv.clone();
            plus[k] += 1e-6;
            minus[k] -= 1e-6;
            Tensor wp = Tensor.of(plus, 2, 2), wm = Tensor.of(minus, 2, 2);
            double da = (x.matmul(wp).abs().mean().item() - x.matmul(wm).abs().mean().item()) / 2e-6;
            double db = (-x.matmul(wp).sigmoid().sum().item() + x.matmul(wm).sigmoid().sum().item()) / 2e-6;
            assertEquals(da, ga.toDoubleArray()[k], 1e-7);
            assertEquals(db, gb.toDoubleArray()[k], 1e-7);
        }
    }

    @Test
    void gradNamesAnUnusedInputAndFreesTheGraphUnlessRetained() {
        Tensor x = leaf(1, 2), unused = leaf(3);
        Tensor loss = x.square().sum();
        var e = assertThrows(IllegalArgumentException.class, () -> Autograd.grad(loss, java.util.List.of(x, unused), true));
        assertTrue(e.getMessage().contains("input 1"), e.getMessage());
        assertArrayEquals(new double[] {2, 4}, Autograd.grad(loss, java.util.List.of(x), false).get(0).toDoubleArray());
        assertThrows(IllegalStateException.class, loss::backward);
        var f = assertThrows(IllegalArgumentException.class, () -> Autograd.grad(x.square(), java.util.List.of(x), false));
        assertTrue(f.getMessage().contains("non-scalar"), f.getMessage());
    }

    @Test
    void whetherAnInputGetsAGradientIsFixedWhenTheOpIsRecorded() {
        // a GAN's step: D frozen while the generator's loss is recorded, unfrozen for its own loss, one backward
        Tensor d = leaf(2), g = leaf(3);
        d.requiresGrad(false);
        Tensor genLoss = g.mul(d).sum();                       // d is a constant here
        d.requiresGrad(true);
        Tensor discLoss = d.square().sum();
        genLoss.add(discLoss).backward();
        assertEquals(4, d.grad().item(), 0, "only the discriminator's own loss reaches it");
        assertEquals(2, g.grad().item(), 0);
        // and freezing after recording does not take a recorded gradient away (as PyTorch's AccumulateGrad)
        Tensor w = leaf(5);
        Tensor y = w.mul(3.0).sum();
        w.requiresGrad(false);
        y.backward();
        assertEquals(3, w.grad().item(), 0);
    }
}
