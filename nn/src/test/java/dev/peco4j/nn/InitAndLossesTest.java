package dev.peco4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.GradCheck;
import dev.peco4j.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class InitAndLossesTest {
    private static double std(double[] v) {
        double m = Arrays.stream(v).average().orElseThrow();
        return Math.sqrt(Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / v.length);
    }

    @Test
    void initializers() {
        Generator g = new Generator(0);
        Tensor w = Tensor.zeros(DType.FLOAT64, 256, 128, 3, 3);
        assertArrayEquals(new int[] {128 * 9, 256 * 9}, Init.fans(w));
        Init.kaimingNormal(w, g, 0, Init.FanMode.FAN_IN, "relu");
        assertEquals(Math.sqrt(2.0 / (128 * 9)), std(w.toDoubleArray()), 2e-4);
        Init.xavierUniform(w, g, 1);
        double bound = Math.sqrt(6.0 / (128 * 9 + 256 * 9));
        assertTrue(Arrays.stream(w.toDoubleArray()).allMatch(x -> Math.abs(x) <= bound));
        assertEquals(bound / Math.sqrt(3), std(w.toDoubleArray()), 2e-4);
        Init.beitTruncNormal(w, g, 0.02);
        assertTrue(Arrays.stream(w.toDoubleArray()).allMatch(x -> Math.abs(x) <= 0.02));
        Linear l = new Linear(g, 64, 10);
        double b = 1 / Math.sqrt(64);
        assertTrue(Arrays.stream(l.weight.toDoubleArray()).allMatch(x -> Math.abs(x) <= b));
        assertEquals(5.0 / 3, Init.gain("tanh", 0), 0);
    }

    @Test
    void beitRescaleDividesProjAndFc2ByRootTwoL() {
        Generator g = new Generator(1);
        List<Block> blocks = List.of(new Block(g, Block.Config.beit(8, 2, 0, 0)), new Block(g, Block.Config.beit(8, 2, 0, 0)));
        double[] proj2 = blocks.get(1).attn.proj.weight.toDoubleArray(), fc2 = blocks.get(0).mlp.fc2.weight.toDoubleArray();
        double[] qkv = blocks.get(1).attn.qkv.weight.toDoubleArray();
        Init.rescaleBeitBlocks(blocks);
        assertEquals(proj2[3] / Math.sqrt(4), blocks.get(1).attn.proj.weight.toDoubleArray()[3], 1e-7);
        assertEquals(fc2[5] / Math.sqrt(2), blocks.get(0).mlp.fc2.weight.toDoubleArray()[5], 1e-7);
        assertArrayEquals(qkv, blocks.get(1).attn.qkv.weight.toDoubleArray());
    }

    @Test
    void lossValues() {
        Tensor logits = Tensor.of(new double[] {2, 0.5, -1, 0, 1, 3}, 2, 3);
        Tensor oneHot = Tensor.of(new double[] {0, 1, 0, 0, 0, 1}, 2, 3);
        assertEquals(Functional.crossEntropy(logits, Tensor.ofInts(new int[] {1, 2}, 2), 0).item(),
                Losses.softTargetCrossEntropy(logits, oneHot).item(), 1e-12);
        Tensor real = Tensor.of(new double[] {2, 0.5}, 2), fake = Tensor.of(new double[] {-3, 0.2}, 2);
        assertEquals(0.5 * ((0 + 0.5) / 2 + (0 + 1.2) / 2), Losses.hingeDiscriminator(real, fake).item(), 1e-12);
        double sp = 0.5 * ((Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(-0.5))) / 2
                + (Math.log1p(Math.exp(-3)) + Math.log1p(Math.exp(0.2))) / 2);
        assertEquals(sp, Losses.softplusDiscriminator(real, fake).item(), 1e-12);
        assertEquals(1000, Losses.softplus(Tensor.of(new double[] {1000}, 1)).item(), 1e-9);
        assertEquals(1.4, Losses.generatorAdversarial(fake).item(), 1e-12);
        // InfoNCE of two identical, orthogonal views: the positive dominates at a low temperature
        Tensor q = Tensor.eye(DType.FLOAT64, 4);
        assertTrue(Losses.infoNce(q, q, 0.05).item() < 1e-6);
        assertEquals(Math.log(4), Losses.infoNce(q, Tensor.ones(DType.FLOAT64, 4, 4), 0.2).item(), 1e-12);
    }

    @Test
    void lossGradientsMatchFiniteDifferences() {
        Generator g = new Generator(3);
        Tensor a = Tensor.normal(g, DType.FLOAT64, 0, 1, 4, 5).requiresGrad(true);
        Tensor b = Tensor.normal(g, DType.FLOAT64, 0, 1, 4, 5).requiresGrad(true);
        Tensor soft = Tensor.uniform(g, DType.FLOAT64, 0.1, 1, 4, 5);
        Tensor probs = soft.div(soft.sum(new int[] {1}, true));
        GradCheck.Options o = GradCheck.Options.defaults(3);
        GradCheck.check("soft target CE", x -> Losses.softTargetCrossEntropy(x[0], probs), o, a);
        GradCheck.check("hinge D", x -> Losses.hingeDiscriminator(x[0], x[1]), o, a, b);
        GradCheck.check("softplus D", x -> Losses.softplusDiscriminator(x[0], x[1]), o, a, b);
        GradCheck.check("non-saturating G", x -> Losses.generatorNonSaturating(x[0]), o, a);
        GradCheck.check("InfoNCE", x -> Losses.infoNce(x[0], x[1], 0.2), o, a, b);
    }
}
