package dev.peco4j.peco.perceptual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.peco.PyTorchFixtures;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One MoCo v3 step against moco/builder.py's, computed by PyTorch 1.13 in float64 on a small ViT (nn/src/test/python/make_fixtures.py). */
class MocoV3Test {
    static final MocoV3.Config SMALL = new MocoV3.Config(VisionTransformer.Config.mocoV3(16, 4, 16, 3, 2), 8, 32, 0.2, false);

    @Test
    void oneStepMatchesPyTorch() throws Exception {
        Map<String, Tensor> all = PyTorchFixtures.read("moco_v3_step");
        Map<String, Tensor> state = new LinkedHashMap<>();
        all.forEach((k, v) -> { if (k.startsWith("param.")) state.put(k.substring(6), v); });
        MocoV3 moco = new MocoV3(new Generator(0), SMALL);
        moco.to(DType.FLOAT64);
        assertTrue(moco.loadStateDict(state, true).isClean());
        Tensor loss = moco.forward(all.get("input.x1"), all.get("input.x2"), 0.99);
        PyTorchFixtures.assertClose(all.get("output.loss"), loss, 1e-10, "loss");
        loss.backward();
        int grads = 0;
        for (var e : moco.namedParameters().entrySet()) {
            Tensor want = all.get("grad." + e.getKey());
            if (want == null) {
                assertNull(e.getValue().grad(), e.getKey() + " gets no gradient in PyTorch either");
                continue;
            }
            // the final norm's bias feeds a bias-free Linear and BatchNorm, which remove it: its gradient is zero up to rounding
            PyTorchFixtures.assertClose(want, e.getValue().grad(), 1e-8, 1e-14, "grad " + e.getKey());
            grads++;
        }
        assertTrue(grads > 40, grads + " gradients compared");
        int after = 0;
        for (var e : moco.stateDict().entrySet()) {
            Tensor want = all.get("after." + e.getKey());
            if (want == null) continue;
            PyTorchFixtures.assertClose(want.to(e.getValue().dtype()), e.getValue(), 1e-10, "momentum branch " + e.getKey());
            after++;
        }
        assertTrue(after > 40, after + " momentum tensors compared");
    }

    @Test
    void theMomentumRisesOnAHalfCosineAndTheMomentumBranchTakesNoGradient() {
        assertEquals(0.99, MocoV3.momentum(0, 100, 0.99), 1e-15);
        assertEquals(0.995, MocoV3.momentum(50, 100, 0.99), 1e-15);
        assertEquals(1.0, MocoV3.momentum(100, 100, 0.99), 1e-15);
        MocoV3 moco = new MocoV3(new Generator(1), new MocoV3.Config(VisionTransformer.Config.mocoV3(16, 4, 16, 1, 2), 8, 16, 0.2, true));
        moco.forward(Tensor.randn(new Generator(2), 4, 3, 16, 16), Tensor.randn(new Generator(3), 4, 3, 16, 16), 0.99).backward();
        moco.momentumEncoder.namedParameters().forEach((n, p) -> assertNull(p.grad(), "momentum_encoder." + n));
        assertNull(moco.baseEncoder.patchEmbed.weight.grad(), "stop-grad conv1: the random patch projection stays frozen");
        assertFalse(moco.trainable().contains(moco.baseEncoder.patchEmbed.weight));
        assertTrue(moco.trainable().contains(moco.predictor.parameters().get(0)));
    }
}
