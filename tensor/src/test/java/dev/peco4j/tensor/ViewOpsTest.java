package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.testing.Gen;
import dev.peco4j.tensor.testing.Property;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Movement ops against copying references: each expected result is tabulated element by element
 * from the input's values by index arithmetic, never through the op under test.
 */
class ViewOpsTest {
    /** Expected values of shape {@code out}, element idx taken from input at {@code source(idx)} (null = fill). */
    private static double[] tabulate(Tensor in, int[] out, Function<int[], int[]> source, double fill) {
        int n = Shape.of(out).numel();
        double[] r = new double[n];
        int[] idx = new int[out.length];
        for (int k = 0; k < n; k++) {
            int rem = k;
            for (int d = out.length - 1; d >= 0; d--) {
                idx[d] = rem % out[d];
                rem /= out[d];
            }
            int[] src = source.apply(idx.clone());
            r[k] = src == null ? fill : in.getDouble(src);
        }
        return r;
    }

    private static void same(double[] expected, Tensor actual, String what) {
        assertArrayEquals(expected, actual.toDoubleArray(), what + " " + actual.shape());
    }

    @Test
    void stridedReadsAgreeWithIndexing() {
        Property.check("toDoubleArray of views", 100, g -> {
            Gen.Input in = g.input(g.shape(0, 4, 4));
            Tensor v = in.value();
            same(tabulate(v, v.shape().dims(), i -> i, 0), v, "view");
            same(v.toDoubleArray(), v.contiguous(), "contiguous");
        });
    }

    @Test
    void permuteTransposeAndMt() {
        Property.check("permute vs reference", 100, g -> {
            int[] s = g.shape(1, 4, 4);
            Tensor x = g.input(s).value();
            int[] perm = java.util.stream.IntStream.range(0, s.length).boxed()
                    .sorted((a, b) -> g.intIn(-1, 1)).mapToInt(Integer::intValue).toArray();
            int[] out = new int[s.length];
            for (int i = 0; i < s.length; i++) out[i] = s[perm[i]];
            same(tabulate(x, out, idx -> {
                int[] src = new int[s.length];
                for (int i = 0; i < s.length; i++) src[perm[i]] = idx[i];
                return src;
            }, 0), x.permute(perm), "permute " + Arrays.toString(perm));
            if (s.length >= 2) {
                int[] t = s.clone();
                t[s.length - 1] = s[s.length - 2];
                t[s.length - 2] = s[s.length - 1];
                same(tabulate(x, t, idx -> {
                    int[] src = idx.clone();
                    src[s.length - 1] = idx[s.length - 2];
                    src[s.length - 2] = idx[s.length - 1];
                    return src;
                }, 0), x.mT(), "mT");
            }
        });
    }

    @Test
    void reshapeKeepsRowMajorOrder() {
        Property.check("reshape vs reference", 100, g -> {
            int[] s = g.shape(1, 4, 4);
            Tensor x = g.input(s).value();
            int n = x.numel();
            double[] expected = x.toDoubleArray();
            same(expected, x.reshape(-1), "flatten");
            same(expected, x.reshape(1, n), "reshape [1, n]");
            same(expected, x.flatten(0, -1), "flatten(0, -1)");
            same(expected, x.unsqueeze(0).squeeze(0), "unsqueeze/squeeze");
            Tensor y = x.reshape(-1).reshape(s);
            same(expected, y, "round trip");
        });
    }

    @Test
    void expandRepeatsSizeOneDims() {
        Property.check("expand vs reference", 100, g -> {
            int[] target = g.shape(1, 4, 4);
            int drop = g.intIn(0, target.length - 1);
            int[] small = Arrays.copyOfRange(target, drop, target.length);
            for (int i = 0; i < small.length; i++) if (g.chance(0.5)) small[i] = 1;
            Tensor x = g.input(small).value();
            same(tabulate(x, target, idx -> {
                int[] src = Arrays.copyOfRange(idx, drop, idx.length);
                for (int i = 0; i < src.length; i++) if (small[i] == 1) src[i] = 0;
                return src;
            }, 0), x.expand(target), "expand " + Arrays.toString(small) + " to " + Arrays.toString(target));
        });
    }

    @Test
    void sliceSelectNarrowFlip() {
        Property.check("slice/select/narrow/flip vs reference", 100, g -> {
            int[] s = g.shape(1, 4, 6);
            Tensor x = g.input(s).value();
            int d = g.intIn(0, s.length - 1), step = g.intIn(1, 3);
            int start = g.intIn(-s[d], s[d]), end = g.intIn(-s[d] - 1, s[d] + 2);
            int st = Math.max(0, Math.min(s[d], start < 0 ? start + s[d] : start));
            int en = Math.max(0, Math.min(s[d], end < 0 ? end + s[d] : end));
            int[] out = s.clone();
            out[d] = en <= st ? 0 : (en - st + step - 1) / step;
            same(tabulate(x, out, idx -> {
                idx[d] = st + idx[d] * step;
                return idx;
            }, 0), x.slice(d, start, end, step), "slice(" + d + ", " + start + ", " + end + ", " + step + ")");

            int at = g.intIn(0, s[d] - 1);
            int[] sel = new int[s.length - 1];
            for (int i = 0, k = 0; i < s.length; i++) if (i != d) sel[k++] = s[i];
            same(tabulate(x, sel, idx -> {
                int[] src = new int[s.length];
                for (int i = 0, k = 0; i < s.length; i++) src[i] = i == d ? at : idx[k++];
                return src;
            }, 0), x.select(d, at), "select");

            int len = g.intIn(0, s[d] - at);
            int[] nar = s.clone();
            nar[d] = len;
            same(tabulate(x, nar, idx -> {
                idx[d] += at;
                return idx;
            }, 0), x.narrow(d, at, len), "narrow");

            same(tabulate(x, s, idx -> {
                idx[d] = s[d] - 1 - idx[d];
                return idx;
            }, 0), x.flip(d), "flip");
        });
    }

    @Test
    void padWithValueAndCrop() {
        Property.check("pad vs reference", 100, g -> {
            int[] s = g.shape(1, 3, 5);
            Tensor x = g.input(s).value();
            int pairs = g.intIn(1, s.length);
            int[] pads = new int[2 * pairs];
            for (int k = 0; k < pads.length; k++) pads[k] = g.intIn(-(s[s.length - 1 - k / 2] - 1) / 2, 2);
            double value = g.uniform(-3, 3);
            int[] out = s.clone();
            for (int k = 0; k < pairs; k++) out[s.length - 1 - k] += pads[2 * k] + pads[2 * k + 1];
            same(tabulate(x, out, idx -> {
                for (int k = 0; k < pairs; k++) {
                    int dd = s.length - 1 - k;
                    idx[dd] -= pads[2 * k];
                    if (idx[dd] < 0 || idx[dd] >= s[dd]) return null;
                }
                return idx;
            }, value), x.pad(pads, value), "pad " + Arrays.toString(pads));
        });
    }

    @Test
    void catStackSplitChunk() {
        Property.check("cat/stack/split/chunk vs reference", 100, g -> {
            int[] s = g.shape(1, 3, 4);
            int d = g.intIn(0, s.length - 1);
            int[] s2 = s.clone();
            s2[d] = g.intIn(1, 3);
            Tensor a = g.input(s).value(), b = g.input(s2).value();
            int[] out = s.clone();
            out[d] = s[d] + s2[d];
            Tensor cat = Tensor.cat(List.of(a, b), d);
            assertEquals(Shape.of(out), cat.shape());
            // element idx of the concatenation comes from a below s[d] along d, from b above
            double[] expected = new double[cat.numel()];
            double[] fromA = tabulate(a, out, idx -> idx[d] < s[d] ? idx : null, Double.NaN);
            double[] fromB = tabulate(b, out, idx -> {
                if (idx[d] < s[d]) return null;
                idx[d] -= s[d];
                return idx;
            }, Double.NaN);
            for (int k = 0; k < expected.length; k++) expected[k] = Double.isNaN(fromA[k]) ? fromB[k] : fromA[k];
            same(expected, cat, "cat");
            assertArrayEquals(b.toDoubleArray(), cat.narrow(d, s[d], s2[d]).toDoubleArray(), "cat tail");
            Tensor st = Tensor.stack(List.of(a, a.neg()), d);
            assertArrayEquals(a.toDoubleArray(), st.select(d, 0).toDoubleArray());
            assertArrayEquals(a.neg().toDoubleArray(), st.select(d, 1).toDoubleArray());
            int size = g.intIn(1, 3);
            List<Tensor> parts = cat.split(size, d);
            assertEquals((out[d] + size - 1) / size, parts.size());
            assertArrayEquals(cat.toDoubleArray(), Tensor.cat(parts, d).toDoubleArray(), "split then cat");
            List<Tensor> chunks = cat.chunk(g.intIn(1, 4), d);
            assertArrayEquals(cat.toDoubleArray(), Tensor.cat(chunks, d).toDoubleArray(), "chunk then cat");
        });
    }

    @Test
    void viewsShareStorageAndCopiesDoNot() {
        Tensor base = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor v = base.reshape(3, 2), t = base.mT(), s = base.slice(1, 0, 3, 2);
        assertTrue(v.isContiguous());
        assertFalse(t.isContiguous());
        Tensor copy = base.copy();
        base.fill(7);
        assertArrayEquals(new double[] {7, 7, 7, 7, 7, 7}, v.toDoubleArray());
        assertArrayEquals(new double[] {7, 7, 7, 7}, s.toDoubleArray());
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, copy.toDoubleArray());
        // a transposed tensor cannot be viewed flat, but reshape copies
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.view(6));
        assertTrue(e.getMessage().startsWith("view: a tensor of shape [3, 2]"), e.getMessage());
        assertEquals(Shape.of(6), t.reshape(6).shape());
    }

    @Test
    void smallExamples() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new double[] {1, 4, 2, 5, 3, 6}, x.mT().contiguous().toDoubleArray());
        assertArrayEquals(new double[] {3, 2, 1, 6, 5, 4}, x.flip(1).toDoubleArray());
        assertArrayEquals(new double[] {0, 1, 2, 3, 0, 0, 4, 5, 6, 0}, x.pad(new int[] {1, 1}, 0).toDoubleArray());
        assertArrayEquals(new double[] {2, 3, 5, 6}, x.pad(new int[] {-1, 0}, 0).toDoubleArray());
        assertArrayEquals(new double[] {1, 3, 4, 6}, x.slice(1, 0, 3, 2).toDoubleArray());
        assertArrayEquals(new double[] {4, 5, 6}, x.select(0, -1).toDoubleArray());
        assertEquals(Shape.of(2, 1, 3), x.unsqueeze(1).shape());
        assertEquals(Shape.of(2, 3, 1), x.unsqueeze(-1).shape());
        assertEquals(Shape.of(3, 2), x.unflatten(1, 3, 1).squeeze().mT().shape());
    }
}
