package dev.peco4j.peco.perceptual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

class ProbesTest {
    /** n points per class around a class centre in d dims, with noise. */
    static Probes.Features blobs(int n, int d, int classes, double noise, long seed) {
        Tensor centres = Tensor.randn(new Generator(99), classes, d);
        Generator g = new Generator(seed);
        float[] x = new float[n * classes * d];
        int[] y = new int[n * classes];
        float[] c = centres.toFloatArray();
        for (int i = 0; i < n * classes; i++) {
            y[i] = i % classes;
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (c[y[i] * d + j] + noise * g.nextGaussian());
        }
        return new Probes.Features(Tensor.of(x, n * classes, d), y);
    }

    @Test
    void knnAndLinearProbeSeparateSeparableClassesAndNotNoise() {
        Probes.Features train = blobs(40, 16, 4, 0.3, 1), test = blobs(20, 16, 4, 0.3, 2);
        double knn = Probes.knn(train, test, 20, 0.07, 4), linear = Probes.linearProbe(train, test, 4, 400, 0).accuracy();
        assertTrue(knn > 0.95, "k-NN " + knn);
        assertTrue(linear > 0.95, "linear " + linear);
        Probes.Features noiseTrain = new Probes.Features(Tensor.randn(new Generator(3), 160, 16), train.labels());
        Probes.Features noiseTest = new Probes.Features(Tensor.randn(new Generator(4), 80, 16), test.labels());
        double chance = Probes.knn(noiseTrain, noiseTest, 20, 0.07, 4);
        assertTrue(chance < 0.5, "labels unrelated to the features: " + chance);
    }

    @Test
    void theLinearProbeChoosesItsRateWithoutTheTestLabels() {
        Probes.Features train = blobs(40, 16, 4, 1.5, 1), test = blobs(20, 16, 4, 1.5, 2);
        int[] shuffled = test.labels().clone();
        for (int i = 0; i < shuffled.length; i++) shuffled[i] = (test.labels()[i] + 1) % 4;
        Probes.LinearProbe a = Probes.linearProbe(train, test, 4, 20, 0), b = Probes.linearProbe(train, new Probes.Features(test.x(), shuffled), 4, 20, 0);
        assertTrue(java.util.Arrays.stream(Probes.PROBE_LRS).anyMatch(lr -> lr == a.lr()), "chosen from the grid: " + a.lr());
        assertEquals(a.lr(), b.lr(), "the rate does not depend on the test labels");
        assertEquals(a.valAccuracy(), b.valAccuracy());
        assertTrue(a.valAccuracy() > 0.5 && a.accuracy() > 0.5 && b.accuracy() < 0.5, a + " / " + b);
    }

    @Test
    void topKKeepsTheLargestInOrder() {
        float[] v = {0.1f, 0.9f, -1f, 0.5f, 0.9f, 0.3f};
        assertArrayEquals(new int[] {1, 4, 3}, Probes.topK(v, 0, 6, 3));
        assertArrayEquals(new int[] {1, 0}, Probes.topK(v, 3, 3, 2), "within the window v[3..6): 0.9 then 0.5");
        assertEquals(6, Probes.topK(v, 0, 6, 10).length);
    }
}
