package dev.peco4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Interpolation;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Layers against PyTorch 1.13 (Debian's python3-torch): the forward output and the gradient of every
 * input and parameter, within 1e-4 relative ({@link Fixtures#assertClose}). The module loads the
 * fixture's state dict strictly, so PyTorch's parameter names are checked too.
 */
class PyTorchParityTest {
    private static final double RTOL = 1e-4;
    private static final Generator GEN = new Generator(1);

    /** Loads params, runs forward on the inputs, backward with the fixture's upstream gradient, compares all. */
    private static void check(String fixture, Module m, Function<List<Tensor>, Tensor> forward) {
        Map<String, Tensor> all = Fixtures.read(fixture).tensors();
        Map<String, Tensor> params = Fixtures.withPrefix(all, "param.");
        assertEquals(List.copyOf(params.keySet()), List.copyOf(m.stateDict().keySet()), fixture + ": state dict names and order");
        m.loadStateDict(params, true);
        List<Tensor> inputs = new ArrayList<>();
        Map<String, Tensor> in = Fixtures.withPrefix(all, "input.");
        in.values().forEach(t -> inputs.add(t.requiresGrad(t.dtype().isFloating())));
        Tensor out = forward.apply(inputs);
        Fixtures.assertClose(all.get("output"), out, RTOL, fixture + " output");
        out.backward(all.get("upstream"));
        int k = 0;
        for (String n : in.keySet()) {
            Fixtures.assertClose(all.get("grad.input." + n), inputs.get(k++).grad(), RTOL, fixture + " grad of input " + n);
        }
        for (var e : m.namedParameters().entrySet()) {
            Fixtures.assertClose(all.get("grad.param." + e.getKey()), e.getValue().grad(), RTOL, fixture + " grad of " + e.getKey());
        }
    }

    @Test
    void linear() {
        Linear l = new Linear(GEN, 5, 3);
        check("linear", l, x -> l.forward(x.get(0)));
    }

    @Test
    void conv2dStride2Groups2() {
        Conv2d c = new Conv2d(GEN, Conv2d.Config.of(4, 6, 3).stride(2).padding(1).groups(2));
        check("conv2d_stride2_groups2", c, x -> c.forward(x.get(0)));
    }

    @Test
    void conv2dDepthwise() {
        Conv2d c = new Conv2d(GEN, Conv2d.Config.of(4, 4, 3).padding(1).groups(4));
        check("conv2d_depthwise", c, x -> c.forward(x.get(0)));
    }

    @Test
    void groupNorm() {
        GroupNorm g = new GroupNorm(2, 4);
        check("group_norm", g, x -> g.forward(x.get(0)));
    }

    @Test
    void layerNorm() {
        LayerNorm l = new LayerNorm(8, 1e-6);
        check("layer_norm", l, x -> l.forward(x.get(0)));
    }

    @Test
    void gelu() {
        Module g = Activations.gelu();
        check("gelu", g, x -> g.forward(x.get(0)));
    }

    @Test
    void attentionWithRelativePositionBias() {
        Attention a = new Attention(GEN, Attention.Config.of(16, 4).window(3, 3));
        check("attention_relpos", a, x -> a.forward(x.get(0)));
    }

    @Test
    void beitBlock() {
        Block b = new Block(GEN, Block.Config.beit(16, 4, 0, 0.1).window(2, 3));
        check("beit_block", b, x -> b.forward(x.get(0)));
    }

    @Test
    void interpolateEveryModeBothAlignmentsUpAndDown() {
        Map<String, Tensor> all = Fixtures.read("interpolate").tensors();
        int cases = 0;
        for (String key : all.keySet()) {
            if (!key.startsWith("output.")) continue;
            String[] k = key.substring(7).split("\\.");                               // mode, align, HxW
            Interpolation.Mode mode = Interpolation.Mode.valueOf(k[0].toUpperCase(java.util.Locale.ROOT));
            String[] size = k[2].split("x");
            Tensor x = all.get("input.x").copy().requiresGrad(true);
            Tensor y = Interpolation.resize(x, Integer.parseInt(size[0]), Integer.parseInt(size[1]), mode, k[1].equals("true"));
            Fixtures.assertClose(all.get(key), y, 1e-12, "interpolate " + key.substring(7));
            y.backward(all.get("upstream." + key.substring(7)));
            Fixtures.assertClose(all.get("grad.input." + key.substring(7)), x.grad(), 1e-12, "interpolate grad " + key.substring(7));
            cases++;
        }
        assertEquals(15, cases, "3 sizes × (nearest + 2 × bilinear + 2 × bicubic)");
    }

    @Test
    void crossEntropyWithLabelSmoothing() {
        Map<String, Tensor> all = Fixtures.read("cross_entropy_smoothing").tensors();
        Tensor logits = all.get("input.logits").requiresGrad(true);
        Tensor loss = Functional.crossEntropy(logits, all.get("input.target"), 0.1);
        Fixtures.assertClose(all.get("output"), loss, RTOL, "cross-entropy");
        loss.backward();
        Fixtures.assertClose(all.get("grad.input.logits"), logits.grad(), RTOL, "cross-entropy grad");
    }

    @Test
    void adamWTrajectoryWithNoDecayGroupAndCosineSchedule() {
        Map<String, Tensor> all = Fixtures.read("adamw_trajectory").tensors();
        Schedule sched = Schedule.cosine(1e-2, 1e-4, 10, 3);
        double[] torchSched = all.get("schedule").toDoubleArray();
        for (int i = 0; i < 10; i++) assertEquals(torchSched[i], sched.at(i), 1e-15, "schedule at " + i);
        for (boolean replay : new boolean[] {true, false}) {
            Tensor w = all.get("init.weight").copy().requiresGrad(true), b = all.get("init.bias").copy().requiresGrad(true);
            AdamW opt = new AdamW(List.of(new ParamGroup("decay", List.of(w), 1e-2, 0.05),
                    new ParamGroup("no_decay", List.of(b), 1e-2, 0.0)), AdamW.Config.DEFAULT);
            Tensor x = all.get("data.x"), y = all.get("data.y");
            for (int step = 0; step < 10; step++) {
                opt.applySchedule(sched.at(step));
                opt.zeroGrad();
                if (replay) { // PyTorch's own gradients: the optimizer arithmetic alone
                    w.setGrad(all.get("step" + step + ".grad.weight"));
                    b.setGrad(all.get("step" + step + ".grad.bias"));
                } else {      // our gradients: the whole training step
                    x.matmul(w.mT()).add(b).sub(y).square().mean().backward();
                }
                opt.step();
                String how = (replay ? "replayed" : "computed") + " gradients, step " + step;
                Fixtures.assertClose(all.get("step" + step + ".weight"), w, 1e-5, "AdamW weight, " + how);
                Fixtures.assertClose(all.get("step" + step + ".bias"), b, 1e-5, "AdamW bias, " + how);
            }
        }
    }
}
