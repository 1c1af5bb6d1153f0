package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.peco4j.tensor.testing.Property;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DataLoaderTest {
    /** n images of 1×2×2 whose pixels encode the index, labels = index mod 3. */
    private static TensorDataset toy(int n) {
        byte[] px = new byte[n * 4];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 4; k++) px[4 * i + k] = (byte) (i + k);
            y[i] = i % 3;
        }
        return new TensorDataset("toy", 1, 2, 2, px, y, List.of("a", "b", "c"));
    }

    private static final Transform NOISY = Transform.compose(Transforms.randomCrop(2, 1), Transforms.randomHorizontalFlip(0.5));

    private static List<float[]> all(DataLoader l, int epoch, int from) {
        List<float[]> out = new ArrayList<>();
        try (DataLoader.Epoch it = l.epoch(epoch, from)) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                out.add(b.images().toFloatArray());
                out.add(toFloats(b.labels().toIntArray()));
            }
        }
        return out;
    }

    private static float[] toFloats(int[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = a[i];
        return f;
    }

    @Test
    void batchesAreTheSameForAnyNumberOfWorkersAndResumeMidEpoch() {
        Property.check("loader determinism", 20, gen -> {
            int n = gen.intIn(1, 70), bs = gen.intIn(1, 16);
            long seed = gen.intIn(0, 1000);
            int epoch = gen.intIn(0, 5);
            TensorDataset ds = toy(n);
            DataLoader.Config base = new DataLoader.Config(bs, true, gen.chance(0.5), 0, 2, DataLoader.OnError.FAIL, false);
            List<float[]> ref;
            try (DataLoader l = new DataLoader(ds, NOISY, seed, base)) {
                ref = all(l, epoch, 0);
            }
            for (int workers : new int[] {1, 3}) {
                try (DataLoader l = new DataLoader(ds, NOISY, seed, base.workers(workers))) {
                    List<float[]> got = all(l, epoch, 0);
                    assertEquals(ref.size(), got.size());
                    for (int i = 0; i < ref.size(); i++) assertArrayEquals(ref.get(i), got.get(i), "workers " + workers);
                    int from = gen.intIn(0, l.batchesPerEpoch());
                    List<float[]> tail = all(l, epoch, from);
                    assertEquals(ref.size() - 2 * from, tail.size());
                    for (int i = 0; i < tail.size(); i++) assertArrayEquals(ref.get(2 * from + i), tail.get(i), "resumed at batch " + from);
                }
            }
        });
    }

    @Test
    void eachEpochIsAPermutationAndEpochsDiffer() {
        try (DataLoader l = new DataLoader(toy(50), Transform.identity(), 7, DataLoader.Config.train(8).workers(0))) {
            int[] a = l.order(0), b = l.order(1);
            int[] sorted = a.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < 50; i++) assertEquals(i, sorted[i]);
            assertFalse(Arrays.equals(a, b), "a new order every epoch");
            assertArrayEquals(a, new DataLoader(toy(50), Transform.identity(), 7, DataLoader.Config.train(8)).order(0), "a function of seed and epoch");
            assertNotEquals(Arrays.toString(a), Arrays.toString(new DataLoader(toy(50), Transform.identity(), 8, DataLoader.Config.train(8)).order(0)));
            assertEquals(6, l.batchesPerEpoch(), "drop_last: 50 / 8");
        }
    }

    @Test
    void evalLoaderVisitsEverySampleOnceInOrder() {
        try (DataLoader l = new DataLoader(toy(10), Transform.identity(), 1, DataLoader.Config.eval(4))) {
            assertEquals(3, l.batchesPerEpoch());
            List<Integer> labels = new ArrayList<>();
            int[] shapes = new int[3];
            try (DataLoader.Epoch it = l.epoch(0, 0)) {
                int k = 0;
                while (it.hasNext()) {
                    DataLoader.Batch b = it.next();
                    shapes[k++] = b.size();
                    assertEquals("[" + b.size() + ", 1, 2, 2]", b.images().shape().toString());
                    for (int v : b.labels().toIntArray()) labels.add(v);
                }
            }
            assertArrayEquals(new int[] {4, 4, 2}, shapes);
            assertEquals(List.of(0, 1, 2, 0, 1, 2, 0, 1, 2, 0), labels);
        }
    }

    @Test
    void imagesOfDifferentSizesInABatchAreAnError() {
        Transform growing = (img, g) -> Transforms.pad(g.nextInt(2)).apply(img, g);
        try (DataLoader l = new DataLoader(toy(40), growing, 1, DataLoader.Config.eval(40).workers(0))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> l.epoch(0, 0).next());
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("after the transform, the batch holds"), e.getMessage());
        }
    }

    @Test
    void twoViewsAreTwoDrawsOfTheSameSamplesAndTheFirstIsTheSingleViewBatch() {
        TensorDataset d = toy(12);
        DataLoader.Config c = DataLoader.Config.train(4).workers(0);
        try (DataLoader one = new DataLoader(d, NOISY, 5, c); DataLoader two = new DataLoader(d, List.of(NOISY, NOISY), 5, c)) {
            DataLoader.Batch a = one.epoch(1, 0).next(), b = two.epoch(1, 0).next();
            assertEquals(2, b.views().size());
            assertArrayEquals(a.images().toFloatArray(), b.views().get(0).toFloatArray(), "view 0 draws as a single-view loader does");
            assertArrayEquals(a.labels().toIntArray(), b.labels().toIntArray());
            assertNotEquals(java.util.Arrays.toString(b.views().get(0).toFloatArray()), java.util.Arrays.toString(b.views().get(1).toFloatArray()),
                    "view 1 has its own augmentation");
            DataLoader.Batch again = two.epoch(1, 0).next();
            assertArrayEquals(b.views().get(1).toFloatArray(), again.views().get(1).toFloatArray(), "and it is reproducible");
        }
    }
}
