package dev.peco4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.GradCheck;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleTest {
    private static final Generator GEN = new Generator(4);

    private static Block block() {
        return new Block(GEN, Block.Config.beit(8, 2, 0.1, 0.1).window(2, 2));
    }

    @Test
    void stateDictUsesBeitNamesInPyTorchOrder() {
        assertEquals(List.of("gamma_1", "gamma_2", "norm1.weight", "norm1.bias", "attn.q_bias", "attn.v_bias",
                "attn.relative_position_bias_table", "attn.relative_position_index", "attn.qkv.weight", "attn.proj.weight",
                "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
                "mlp.fc2.bias"), List.copyOf(block().stateDict().keySet()));
        Sequential s = new Sequential(new Linear(GEN, 2, 3), Activations.relu(), new BatchNorm2d(3));
        assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var",
                "2.num_batches_tracked"), List.copyOf(s.stateDict().keySet()));
    }

    @Test
    void countsTraversalModesAndFreezing() {
        Block b = block();
        // gamma 2·8, norms 4·8, q/v bias 2·8, table 12·2 ((2·2−1)²+3 = 12), qkv 24·8, proj 8·8+8, mlp 32·8+32 + 8·32+8
        assertEquals(16 + 32 + 16 + 24 + 192 + 72 + 288 + 264, b.parameterCount());
        assertTrue(b.namedModules().containsKey("attn.qkv"));
        assertEquals(b.parameterCount(), b.namedParameters().values().stream().mapToLong(Tensor::numel).sum());
        b.eval();
        assertFalse(b.attn.qkv.isTraining());
        b.train(true);
        assertTrue(b.mlp.fc2.isTraining());
        b.attn.freeze();
        assertFalse(b.attn.qkv.weight.requiresGrad());
        assertEquals(b.parameterCount() - (16 + 24 + 192 + 72), b.trainableParameterCount());
        assertTrue(b.toString().contains("(attn): Attention(dim=8, heads=2"), b.toString());
        assertTrue(new Linear(GEN, 4, 2).toString().equals("Linear(in_features=4, out_features=2, bias=true)"));
    }

    @Test
    void everyParameterReceivesAGradientAndNothingIsNaN() {
        Block b = block();
        b.setGenerator(new Generator(1));
        Tensor x = Tensor.randn(new Generator(2), 3, 5, 8);
        Tensor y = b.forward(x);
        assertEquals(x.shape(), y.shape());
        y.square().mean().backward();
        for (var e : b.namedParameters().entrySet()) {
            assertNotNull(e.getValue().grad(), e.getKey() + " got no gradient");
            for (double v : e.getValue().grad().toDoubleArray()) assertTrue(Double.isFinite(v), e.getKey() + " has a non-finite gradient");
        }
    }

    @Test
    void toFloat64KeepsTheTensorObjects() {
        Linear l = new Linear(GEN, 3, 2);
        Tensor w = l.weight;
        l.to(DType.FLOAT64);
        assertSame(w, l.weight);
        assertEquals(DType.FLOAT64, l.weight.dtype());
        assertTrue(l.weight.requiresGrad());
        assertEquals(DType.FLOAT64, l.forward(Tensor.ones(DType.FLOAT64, 1, 3)).dtype());
    }

    @Test
    void attentionAndBlockPassFloat64GradientChecks() {
        Generator g = new Generator(8);
        Block b = new Block(g, Block.Config.beit(8, 2, 0, 0.5).window(2, 2));
        b.to(DType.FLOAT64);
        for (Tensor p : b.parameters()) Init.normal(p, g, p.dim() == 1 ? 0.5 : 0, 0.3); // no zeros anywhere
        Map<String, Tensor> named = b.namedParameters();
        Tensor[] leaves = new Tensor[named.size() + 1];
        leaves[0] = Tensor.normal(g, DType.FLOAT64, 0, 1, 2, 5, 8).requiresGrad(true);
        int k = 1;
        for (Tensor p : named.values()) leaves[k++] = p;
        // the block's own parameters are leaves: GradCheck perturbs them in place and restores them
        GradCheck.check("beit block", xs -> b.forward(xs[0]), GradCheck.Options.defaults(8).withMode(GradCheck.Mode.FAST), leaves);
        Attention a = new Attention(g, Attention.Config.of(8, 2).window(2, 2));
        a.to(DType.FLOAT64);
        for (Tensor p : a.parameters()) Init.normal(p, g, 0, 0.3);
        Tensor x = Tensor.normal(g, DType.FLOAT64, 0, 1, 2, 5, 8).requiresGrad(true);
        Tensor shared = Tensor.normal(g, DType.FLOAT64, 0, 1, 2, 5, 5).requiresGrad(true);
        java.util.List<Tensor> in = new java.util.ArrayList<>(java.util.List.of(x, shared));
        in.addAll(a.parameters());
        GradCheck.check("attention", xs -> a.forward(xs[0], xs[1]), GradCheck.Options.defaults(9), in.toArray(new Tensor[0]));
    }

    @Test
    void registrationErrors() {
        Module m = new Module() {
            {
                parameter("w", Tensor.zeros(2));
                assertThrows(IllegalArgumentException.class, () -> parameter("w", Tensor.zeros(2)));
                assertThrows(IllegalArgumentException.class, () -> buffer("a.b", Tensor.zeros(2), true));
            }

            @Override
            public Tensor forward(Tensor x) {
                return x;
            }
        };
        assertEquals(1, m.parameters().size());
        assertThrows(UnsupportedOperationException.class, () -> new ModuleList<Linear>().forward(Tensor.zeros(1)));
    }

    @Test
    void batchNormTracksRunningStatisticsAndDropPathDropsWholeSamples() {
        BatchNorm2d bn = new BatchNorm2d(2);
        Tensor x = Tensor.randn(new Generator(3), 4, 2, 3, 3).mul(2.0).add(1.0);
        bn.forward(x);
        assertEquals(1, bn.numBatchesTracked.item());
        assertTrue(bn.runningMean.toDoubleArray()[0] > 0.05, "running mean moved toward the batch mean");
        bn.eval();
        Tensor y = bn.forward(x);
        assertEquals(x.shape(), y.shape());
        assertEquals(1, bn.numBatchesTracked.item());

        DropPath dp = new DropPath(0.5);
        dp.generator(new Generator(5));
        Tensor ones = Tensor.ones(64, 3, 4);
        double[] out = dp.forward(ones).toDoubleArray();
        for (int s = 0; s < 64; s++) {
            double first = out[s * 12];
            assertTrue(first == 0 || first == 2, "kept samples are scaled by 1/(1-p)");
            for (int i = 1; i < 12; i++) assertEquals(first, out[s * 12 + i], "the whole sample is kept or dropped");
        }
        dp.eval();
        assertArrayEquals(ones.toDoubleArray(), dp.forward(ones).toDoubleArray());
    }
}
