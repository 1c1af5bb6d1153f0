package dev.peco4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class OptimizerTest {
    private static Tensor param(double... v) {
        return Tensor.of(v, v.length).requiresGrad(true);
    }

    @Test
    void sgdWithMomentumAndNesterovByHand() {
        Tensor p = param(1.0), q = param(1.0);
        SGD plain = new SGD(List.of(new ParamGroup("p", List.of(p), 0.1, 0.0)), SGD.Config.momentum(0.9));
        SGD nesterov = new SGD(List.of(new ParamGroup("q", List.of(q), 0.1, 0.0)), new SGD.Config(0.9, 0, true));
        double pv = 1, qv = 1, bufP = 0, bufQ = 0;
        for (int step = 0; step < 3; step++) {
            p.setGrad(Tensor.of(new double[] {2 * p.item()}, 1)); // d/dp p²
            q.setGrad(Tensor.of(new double[] {2 * q.item()}, 1));
            plain.step();
            nesterov.step();
            double gp = 2 * pv, gq = 2 * qv;
            bufP = step == 0 ? gp : 0.9 * bufP + gp;
            bufQ = step == 0 ? gq : 0.9 * bufQ + gq;
            pv -= 0.1 * bufP;
            qv -= 0.1 * (gq + 0.9 * bufQ);
            assertEquals(pv, p.item(), 1e-12);
            assertEquals(qv, q.item(), 1e-12);
        }
    }

    @Test
    void adamCouplesWeightDecayToTheGradientAdamWDecouplesIt() {
        Tensor a = param(1.0), w = param(1.0);
        Adam adam = new Adam(List.of(new ParamGroup("a", List.of(a), 0.1, 0.5)), AdamW.Config.DEFAULT);
        AdamW adamw = new AdamW(List.of(new ParamGroup("w", List.of(w), 0.1, 0.5)), AdamW.Config.DEFAULT);
        a.setGrad(Tensor.of(new double[] {0.0}, 1));
        w.setGrad(Tensor.of(new double[] {0.0}, 1));
        adam.step();
        adamw.step();
        // Adam: g = 0 + 0.5·1; the first step moves by lr·m̂/(√v̂ + ε) ≈ lr
        assertEquals(1 - 0.1 * 0.5 / (0.5 + 1e-8), a.item(), 1e-12);
        // AdamW: only the decay p·(1 − lr·wd) acts, the Adam step of a zero gradient is 0
        assertEquals(1 - 0.1 * 0.5, w.item(), 1e-12);
    }

    @Test
    void paramsWithoutGradientsAreSkippedAndGroupsValidated() {
        Tensor p = param(1, 2);
        AdamW opt = new AdamW(List.of(new ParamGroup("g", List.of(p), 0.1, 0)), AdamW.Config.DEFAULT);
        opt.step();
        assertArrayEquals(new double[] {1, 2}, p.toDoubleArray());
        assertThrows(IllegalArgumentException.class, () -> new ParamGroup("empty", List.of(), 0.1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(
                new ParamGroup("a", List.of(p), 0.1, 0), new ParamGroup("b", List.of(p), 0.1, 0)), SGD.Config.momentum(0)));
        assertEquals("optimizer: a parameter [2] is in groups 'a' and 'b'", e.getMessage());
        opt.groups().get(0).lrScale = 0.5;
        opt.applySchedule(2.0);
        assertEquals(1.0, opt.groups().get(0).lr);
    }

    @Test
    void clipGradNormReturnsTheTotalNormAndScalesOnlyAboveTheLimit() {
        Tensor a = param(0, 0), b = param(0);
        a.setGrad(Tensor.of(new double[] {3, 0}, 2));
        b.setGrad(Tensor.of(new double[] {4}, 1));
        assertEquals(5, GradClip.clipGradNorm(List.of(a, b), 10), 1e-12);
        assertArrayEquals(new double[] {3, 0}, a.grad().toDoubleArray());
        assertEquals(5, GradClip.clipGradNorm(List.of(a, b), 1), 1e-12);
        assertArrayEquals(new double[] {3 / (5 + 1e-6), 0}, a.grad().toDoubleArray(), 1e-12);
        assertEquals(4 / (5 + 1e-6), b.grad().item(), 1e-12);
    }

    @Test
    void emaFollowsTheModel() {
        Linear model = new Linear(new Generator(1), 2, 2), shadow = new Linear(new Generator(2), 2, 2);
        ModelEma ema = new ModelEma(model, shadow, 0.9);
        assertArrayEquals(model.weight.toDoubleArray(), shadow.weight.toDoubleArray());
        double before = shadow.weight.toDoubleArray()[0];
        try (var ignored = dev.peco4j.tensor.Autograd.noGrad()) {
            model.weight.addInPlace(model.weight.onesLike(), 1);
        }
        ema.update();
        assertEquals(0.9 * before + 0.1 * (before + 1), shadow.weight.toDoubleArray()[0], 1e-6);
        assertTrue(!shadow.weight.requiresGrad() && !shadow.isTraining());
    }

    @Test
    void schedules() {
        Schedule c = Schedule.cosine(1.5e-3, 1e-5, 100, 10);
        assertEquals(0, c.at(0));
        assertEquals(1.5e-3, c.at(9), 0);
        assertEquals(1.5e-3, c.at(10), 1e-18);
        assertEquals(1e-5 + 0.5 * (1.5e-3 - 1e-5) * (1 + Math.cos(Math.PI * 89 / 90)), c.at(99), 1e-18);
        assertEquals(c.at(99), c.at(500));
        assertEquals(1e-5, c.at(99), 1e-6);
        Schedule s = Schedule.step(1, 10, 0.1);
        assertEquals(1, s.at(9));
        assertEquals(0.1, s.at(10), 1e-15);
        assertEquals(0.5, Schedule.constant(0.5).at(1234));
        assertThrows(IllegalArgumentException.class, () -> Schedule.cosine(1, 0, 5, 6));
    }

    @Test
    void optimizerStateRoundTripsByName() {
        Tensor p = param(1, 2).to(DType.FLOAT32).detach().requiresGrad(true);
        AdamW opt = new AdamW(List.of(new ParamGroup("g", List.of(p), 0.1, 0)), AdamW.Config.DEFAULT);
        p.setGrad(Tensor.of(new float[] {1, -1}, 2));
        opt.step();
        var saved = opt.stateDict(java.util.Map.of("w", p));
        assertEquals(java.util.Set.of("w.step", "w.exp_avg", "w.exp_avg_sq"), saved.keySet());
        AdamW other = new AdamW(List.of(new ParamGroup("g", List.of(p), 0.1, 0)), AdamW.Config.DEFAULT);
        other.loadStateDict(saved, java.util.Map.of("w", p));
        assertEquals(saved.keySet(), other.stateDict(java.util.Map.of("w", p)).keySet());
        assertThrows(IllegalArgumentException.class, () -> other.loadStateDict(saved, java.util.Map.of("v", p)));
    }
}
