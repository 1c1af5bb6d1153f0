package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    @Test
    void philoxMatchesTheRandom123KnownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                Generator.philox(new int[] {0, 0, 0, 0}, 0, 0));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                Generator.philox(new int[] {-1, -1, -1, -1}, -1, -1));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Generator.philox(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0xa4093822, 0x299f31d0));
    }

    @Test
    void sameSeedSameStreamDifferentSeedDifferentStream() {
        assertArrayEquals(Tensor.randn(new Generator(5), 100).toDoubleArray(), Tensor.randn(new Generator(5), 100).toDoubleArray());
        assertFalse(Arrays.equals(Tensor.randn(new Generator(5), 100).toDoubleArray(),
                Tensor.randn(new Generator(6), 100).toDoubleArray()));
    }

    @Test
    void elementIDependsOnlyOnTheCounterSoFillsSplitFreely() {
        Generator a = new Generator(9);
        double[] whole = Tensor.rand(a, 10).toDoubleArray();
        Generator b = new Generator(9);
        double[] first = Tensor.rand(b, 4).toDoubleArray(), rest = Tensor.rand(b, 6).toDoubleArray();
        assertArrayEquals(Arrays.copyOfRange(whole, 0, 4), first);
        assertArrayEquals(Arrays.copyOfRange(whole, 4, 10), rest);
        Generator c = new Generator(9);
        c.advance(4);
        assertArrayEquals(rest, Tensor.rand(c, 6).toDoubleArray());
    }

    @Test
    void stateRoundTripsExactly() {
        Generator g = new Generator(11);
        Tensor.randn(g, 7);
        Generator copy = Generator.fromState(g.state());
        assertArrayEquals(Tensor.randn(g, 5).toDoubleArray(), Tensor.randn(copy, 5).toDoubleArray());
    }

    @Test
    void splitStreamsAreReproducibleAndDistinct() {
        Generator g1 = new Generator(3), g2 = new Generator(3);
        Generator w1 = g1.split(), w2 = g2.split(), w3 = g1.split();
        assertEquals(w1.nextLong(), w2.nextLong());
        assertTrue(w1.nextLong() != w3.nextLong());
    }

    @Test
    void momentsOfUniformNormalAndTruncatedNormal() {
        Generator g = new Generator(1234);
        int n = 200_000;
        double[] u = Tensor.uniform(g, DType.FLOAT64, 0, 1, n).toDoubleArray();
        assertEquals(0.5, mean(u), 0.005);
        assertEquals(1.0 / 12, var(u), 0.002);
        double[] z = Tensor.normal(g, DType.FLOAT64, 0, 1, n).toDoubleArray();
        assertEquals(0, mean(z), 0.01);
        assertEquals(1, var(z), 0.01);
        // N(0, 1) truncated to [-2, 2]: variance 1 − 2·2·φ(2)/(Φ(2) − Φ(−2)) = 0.7737413...
        double[] t = Tensor.truncatedNormal(g, DType.FLOAT64, 0, 1, -2, 2, n).toDoubleArray();
        assertTrue(Arrays.stream(t).allMatch(x -> x >= -2 && x <= 2));
        assertEquals(0, mean(t), 0.01);
        assertEquals(1 - 4 * SpecialFunctions.normalPdf(2) / (SpecialFunctions.normalCdf(2) - SpecialFunctions.normalCdf(-2)),
                var(t), 0.01);
        // BEiT's trunc_normal_(std=0.02) with bounds ±std
        double[] beit = Tensor.truncatedNormal(g, DType.FLOAT64, 0, 0.02, -0.02, 0.02, 1000).toDoubleArray();
        assertTrue(Arrays.stream(beit).allMatch(x -> Math.abs(x) <= 0.02));
        int[] r = Tensor.randint(g, 3, 7, 10_000).toIntArray();
        assertTrue(Arrays.stream(r).allMatch(x -> x >= 3 && x < 7));
        assertEquals(4, Arrays.stream(r).distinct().count());
        double keep = Arrays.stream(Tensor.bernoulli(g, 0.3, n).toIntArray()).average().orElseThrow();
        assertEquals(0.3, keep, 0.005);
    }

    private static double mean(double[] v) {
        return Arrays.stream(v).average().orElseThrow();
    }

    private static double var(double[] v) {
        double m = mean(v);
        return Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / (v.length - 1);
    }
}
