package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.peco4j.tensor.testing.Property;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Forward values against independent definitions (gradient checks only prove backward matches
 * forward; these prove forward is right): known constants, and convolution, pooling and matmul
 * written out from their definitions.
 */
class ForwardReferenceTest {
    private static final double TOL = 1e-12;

    @Test
    void erfAndGeluAgainstKnownValues() {
        double[][] erf = {{0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
            {2, 0.9953222650189527}, {2.9, 0.9999589021219005}, {3, 0.9999779095030014},
            {3.5, 0.9999992569016276}, {5, 0.9999999999984626}, {-1.2, -0.9103139782296353}};
        for (double[] p : erf) assertEquals(p[1], SpecialFunctions.erf(p[0]), 2e-16 * 8, "erf(" + p[0] + ")");
        for (double y : new double[] {-0.999, -0.5, 0.001, 0.3, 0.9, 0.999999}) {
            assertEquals(y, SpecialFunctions.erf(SpecialFunctions.erfinv(y)), 1e-15, "erf(erfinv(" + y + "))");
        }
        // gelu(1) = Φ(1) = 0.841344746068543, gelu(-1) = -(1 - Φ(1))
        Tensor g = Tensor.of(new double[] {1, -1, 0}, 3).gelu();
        assertArrayEquals(new double[] {0.8413447460685429, -0.15865525393145707, 0}, g.toDoubleArray(), 1e-15);
    }

    @Test
    void elementwiseAgainstMath() {
        double[] x = {-2.5, -0.3, 0.7, 4};
        Tensor t = Tensor.of(x, 4);
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            assertEquals(1 / (1 + Math.exp(-v)), t.sigmoid().toDoubleArray()[i], TOL);
            assertEquals(v / (1 + Math.exp(-v)), t.silu().toDoubleArray()[i], TOL);
            assertEquals(Math.min(Math.max(v, 0), 6), t.relu6().toDoubleArray()[i], 0);
            assertEquals(v > 0 ? v : 0.1 * v, t.leakyRelu(0.1).toDoubleArray()[i], 0);
            assertEquals(Math.min(Math.max(v, -1), 1), t.clamp(-1, 1).toDoubleArray()[i], 0);
        }
        assertArrayEquals(new double[] {0, 0, 1, 1}, t.gt(0.0).toDoubleArray());
        assertArrayEquals(new double[] {-2.5, -0.3, 0.5, 0.5}, t.minimum(Tensor.scalar(0.5, DType.FLOAT64)).toDoubleArray());
        Tensor i = Tensor.ofInts(new int[] {7, 2}, 2);
        assertEquals(DType.FLOAT32, i.div(2.0).dtype());
        assertArrayEquals(new double[] {3.5, 1}, i.div(2.0).toDoubleArray());
        assertEquals(DType.INT32, i.add(1.0).dtype());
    }

    @Test
    void reductionsAndSoftmax() {
        Tensor x = Tensor.of(new double[] {1, 2, 3, 4, 5, 7}, 2, 3);
        assertArrayEquals(new double[] {5, 7, 10}, x.sum(0).toDoubleArray());
        assertArrayEquals(new double[] {2, 16.0 / 3}, x.mean(1).toDoubleArray(), TOL);
        assertArrayEquals(new double[] {1, 7 - 0.0}, new double[] {x.var(new int[] {1}, 1, false).toDoubleArray()[0],
            x.amax().item()}, TOL);
        assertEquals(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), x.logsumexp(new int[] {1}, false).toDoubleArray()[0], TOL);
        assertArrayEquals(new double[] {2, 2}, x.argmax(1, false).toDoubleArray());
        ReduceOps.ValuesIndices m = x.min(0, true);
        assertArrayEquals(new double[] {1, 2, 3}, m.values().toDoubleArray());
        assertEquals(Shape.of(1, 3), m.indices().shape());
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertArrayEquals(new double[] {Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z},
                x.softmax(1).slice(0, 0, 1, 1).reshape(3).toDoubleArray(), TOL);
        assertArrayEquals(x.softmax(0).log().toDoubleArray(), x.logSoftmax(0).toDoubleArray(), TOL);
        // stable for huge logits and for rows of -inf
        Tensor big = Tensor.of(new double[] {1000, 1000, Double.NEGATIVE_INFINITY}, 3);
        assertArrayEquals(new double[] {0.5, 0.5, 0}, big.softmax(0).toDoubleArray(), TOL);
        assertEquals(5, Tensor.of(new double[] {3, 4}, 2).norm().item(), TOL);
        assertEquals(2, Tensor.ofInts(new int[] {0, 3, 0, 1}, 4).nonzero().numel());
    }

    @Test
    void matmulAgainstTheDefinition() {
        Property.check("matmul vs definition", 50, g -> {
            int b = g.intIn(1, 3), n = g.intIn(1, 5), k = g.intIn(1, 5), m = g.intIn(1, 5);
            Tensor x = g.input(new int[] {b, n, k}).value(), y = g.input(new int[] {b, k, m}).value();
            double[] expected = new double[b * n * m];
            for (int p = 0; p < b; p++) {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < m; j++) {
                        double s = 0;
                        for (int l = 0; l < k; l++) s += x.getDouble(p, i, l) * y.getDouble(p, l, j);
                        expected[(p * n + i) * m + j] = s;
                    }
                }
            }
            assertArrayEquals(expected, x.matmul(y).toDoubleArray(), 1e-12);
            // the 1-D rules
            Tensor v = g.input(new int[] {k}).value();
            assertEquals(Shape.of(b, n), x.matmul(v).shape());
            assertEquals(Shape.of(b, m), v.matmul(y).shape());
        });
    }

    @Test
    void conv2dAgainstTheDefinition() {
        Property.check("conv2d vs definition", 50, g -> {
            int groups = g.intIn(1, 3), cg = g.intIn(1, 2), og = g.intIn(1, 2), n = g.intIn(1, 2);
            int kh = g.intIn(1, 3), kw = g.intIn(1, 3), sh = g.intIn(1, 2), sw = g.intIn(1, 3), ph = g.intIn(0, 2), pw = g.intIn(0, 1);
            int dh = g.intIn(1, 2), dw = g.intIn(1, 2);
            int h = (kh - 1) * dh + 1 + g.intIn(0, 4), w = (kw - 1) * dw + 1 + g.intIn(0, 4);
            Conv2dParams p = new Conv2dParams(sh, sw, ph, pw, dh, dw, groups, 0, 0);
            Tensor x = g.input(new int[] {n, groups * cg, h, w}).value(), wt = g.input(new int[] {groups * og, cg, kh, kw}).value();
            Tensor bias = g.values(new int[] {groups * og}, -1, 1);
            Tensor y = Functional.conv2d(x, wt, bias, p);
            int oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
            assertEquals(Shape.of(n, groups * og, oh, ow), y.shape());
            for (int b = 0; b < n; b++) {
                for (int o = 0; o < groups * og; o++) {
                    for (int i = 0; i < oh; i++) {
                        for (int j = 0; j < ow; j++) {
                            double s = bias.getDouble(o);
                            for (int c = 0; c < cg; c++) {
                                for (int a = 0; a < kh; a++) {
                                    for (int e = 0; e < kw; e++) {
                                        int r = i * sh - ph + a * dh, q = j * sw - pw + e * dw;
                                        if (r >= 0 && r < h && q >= 0 && q < w) {
                                            s += x.getDouble(b, (o / og) * cg + c, r, q) * wt.getDouble(o, c, a, e);
                                        }
                                    }
                                }
                            }
                            assertEquals(s, y.getDouble(b, o, i, j), 1e-12);
                        }
                    }
                }
            }
        });
    }

    @Test
    void convTranspose2dScattersEachInputThroughTheKernel() {
        Property.check("conv_transpose2d vs definition", 50, g -> {
            int groups = g.intIn(1, 2), cg = g.intIn(1, 2), og = g.intIn(1, 2), k = g.intIn(1, 3), s = g.intIn(1, 3);
            int pad = g.intIn(0, k - 1), dil = g.intIn(1, 2), op = g.intIn(0, Math.max(s, dil) - 1);
            int h = g.intIn(1, 4), w = g.intIn(1, 4);
            Conv2dParams p = new Conv2dParams(s, s, pad, pad, dil, dil, groups, op, op);
            int oh = (h - 1) * s - 2 * pad + dil * (k - 1) + op + 1, ow = (w - 1) * s - 2 * pad + dil * (k - 1) + op + 1;
            if (oh <= 0 || ow <= 0) return;
            Tensor x = g.input(new int[] {1, groups * cg, h, w}).value(), wt = g.input(new int[] {groups * cg, og, k, k}).value();
            double[] expected = new double[groups * og * oh * ow];
            for (int c = 0; c < groups * cg; c++) {
                for (int o = 0; o < og; o++) {
                    int oc = (c / cg) * og + o;
                    for (int i = 0; i < h; i++) {
                        for (int j = 0; j < w; j++) {
                            for (int a = 0; a < k; a++) {
                                for (int e = 0; e < k; e++) {
                                    int r = i * s - pad + a * dil, q = j * s - pad + e * dil;
                                    if (r >= 0 && r < oh && q >= 0 && q < ow) {
                                        expected[(oc * oh + r) * ow + q] += x.getDouble(0, c, i, j) * wt.getDouble(c, o, a, e);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            assertArrayEquals(expected, Functional.convTranspose2d(x, wt, null, p).toDoubleArray(), 1e-12);
        });
    }

    @Test
    void attentionAgainstItsDefinition() {
        Property.check("sdpa vs softmax(q·kᵀ·scale + bias)·v", 30, g -> {
            int b = g.intIn(1, 2), h = g.intIn(1, 3), n = g.intIn(1, 6), m = g.intIn(1, 7), d = g.intIn(1, 4), e = g.intIn(1, 4);
            Tensor q = g.values(new int[] {b, h, n, d}, -1, 1), k = g.values(new int[] {b, h, m, d}, -1, 1);
            Tensor v = g.values(new int[] {b, h, m, e}, -1, 1), bias = g.values(new int[] {h, n, m}, -1, 1);
            boolean[] keep = new boolean[b * m];
            for (int i = 0; i < keep.length; i++) keep[i] = i % m == m - 1 || g.chance(0.5);
            Tensor mask = Tensor.ofBools(keep, b, m);
            Tensor logits = q.matmul(k.mT()).mul(0.7).add(bias)
                    .add(mask.logicalNot().to(DType.FLOAT64).mul(-1e30).reshape(b, 1, 1, m));
            Tensor expected = logits.softmax(-1).matmul(v);
            assertArrayEquals(expected.toDoubleArray(),
                    Functional.scaledDotProductAttention(q, k, v, bias, mask, 0.7).toDoubleArray(), 1e-12);
        });
    }

    @Test
    void poolingExamples() {
        Tensor x = Tensor.arange(DType.FLOAT64, 0, 16, 1).reshape(1, 1, 4, 4);
        assertArrayEquals(new double[] {2.5, 4.5, 10.5, 12.5}, Functional.avgPool2d(x, Pool2dParams.of(2, 2, 0)).toDoubleArray());
        assertArrayEquals(new double[] {5, 7, 13, 15}, Functional.maxPool2d(x, Pool2dParams.of(2, 2, 0)).toDoubleArray());
        // 3x3, stride 2, padding 1: corner windows hold 4 real elements out of 9
        Pool2dParams p = Pool2dParams.of(3, 2, 1);
        assertEquals((0 + 1 + 4 + 5) / 9.0, Functional.avgPool2d(x, p).getDouble(0, 0, 0, 0), TOL);
        assertEquals((0 + 1 + 4 + 5) / 4.0, Functional.avgPool2d(x, p.withCountIncludePad(false)).getDouble(0, 0, 0, 0), TOL);
        // ceil mode adds a last, partial window: (5 − 2)/2 + 1 = 2.5 → 3 windows
        Tensor five = Tensor.arange(DType.FLOAT64, 0, 25, 1).reshape(1, 1, 5, 5);
        assertEquals(Shape.of(1, 1, 2, 2), Functional.avgPool2d(five, Pool2dParams.of(2, 2, 0)).shape());
        Tensor ceil = Functional.avgPool2d(five, Pool2dParams.of(2, 2, 0).withCeilMode(true));
        assertEquals(Shape.of(1, 1, 3, 3), ceil.shape());
        assertEquals(24, ceil.getDouble(0, 0, 2, 2), TOL); // the window holds only element 24, divided by 1
        // adaptive 5 → 3: windows [0,2), [1,4), [3,5)
        Tensor row = Tensor.of(new double[] {1, 2, 3, 4, 5}, 1, 1, 1, 5);
        assertArrayEquals(new double[] {1.5, 3, 4.5}, Functional.adaptiveAvgPool2d(row, 1, 3).toDoubleArray(), TOL);
        ReduceOps.ValuesIndices mi = Functional.maxPool2dWithIndices(x, Pool2dParams.of(2, 2, 0));
        assertArrayEquals(new int[] {5, 7, 13, 15}, mi.indices().toIntArray());
        assertArrayEquals(new double[] {0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3},
                Functional.upsampleNearest(Tensor.of(new double[] {0, 1, 2, 3}, 1, 1, 2, 2), 2).toDoubleArray());
    }

    @Test
    void normsAndLosses() {
        Tensor x = Tensor.of(new double[] {1, 2, 3, 4, 6, 8}, 2, 3);
        Tensor ln = Functional.layerNorm(x, 1, null, null, 0);
        double sd = Math.sqrt(2.0 / 3);
        assertArrayEquals(new double[] {-1 / sd, 0, 1 / sd}, ln.slice(0, 0, 1, 1).reshape(3).toDoubleArray(), 1e-12);
        // cross-entropy: −log softmax at the target, label smoothing mixes in the mean over classes
        Tensor logits = Tensor.of(new double[] {2, 1, 0.1, 0.5, 2.5, 0.3}, 2, 3);
        Tensor target = Tensor.ofInts(new int[] {0, 2}, 2);
        double[] lp = logits.logSoftmax(1).toDoubleArray();
        double nll = -(lp[0] + lp[5]) / 2;
        assertEquals(nll, Functional.crossEntropy(logits, target, 0).item(), TOL);
        double uniform = -(lp[0] + lp[1] + lp[2] + lp[3] + lp[4] + lp[5]) / 6;
        assertEquals(0.9 * nll + 0.1 * uniform, Functional.crossEntropy(logits, target, 0.1).item(), TOL);
        Tensor ignored = Tensor.ofInts(new int[] {0, -100}, 2);
        assertEquals(-lp[0], Functional.crossEntropy(logits, ignored, 0).item(), TOL);
        assertEquals((1 + 4 + 9 + 0 + 0 + 9) / 6.0, Functional.mseLoss(x, x.add(Tensor.of(new double[] {1, 2, 3, 0, 0, -3}, 2, 3))).item(), TOL);
        // batch norm: train updates the running stats with the unbiased variance, eval uses them
        Tensor rm = Tensor.zeros(DType.FLOAT64, 3), rv = Tensor.ones(DType.FLOAT64, 3);
        Functional.batchNorm(x, rm, rv, null, null, true, 0.1, 1e-5);
        assertArrayEquals(new double[] {0.25, 0.4, 0.55}, rm.toDoubleArray(), TOL);
        assertArrayEquals(new double[] {0.9 + 0.1 * 4.5, 0.9 + 0.1 * 8, 0.9 + 0.1 * 12.5}, rv.toDoubleArray(), TOL);
        Tensor eval = Functional.batchNorm(x, rm, rv, null, null, false, 0.1, 0);
        assertEquals((1 - 0.25) / Math.sqrt(1.35), eval.getDouble(0, 0), TOL);
        // dropout keeps E[x]
        Tensor ones = Tensor.ones(DType.FLOAT64, 100_000);
        assertEquals(1, Functional.dropout(ones, 0.25, true, new Generator(1)).mean().item(), 0.01);
        assertArrayEquals(ones.toDoubleArray(), Functional.dropout(ones, 0.25, false, new Generator(1)).toDoubleArray());
    }

    @Test
    void creationAndIndexing() {
        assertArrayEquals(new double[] {0, 0.25, 0.5, 0.75, 1}, Tensor.linspace(DType.FLOAT64, 0, 1, 5).toDoubleArray());
        assertArrayEquals(new double[] {1, 0, 0, 0, 1, 0}, Tensor.eye(DType.FLOAT32, 2, 3).toDoubleArray());
        assertArrayEquals(new int[] {0, 1, 2}, Tensor.arange(3).toIntArray());
        assertArrayEquals(new double[] {2, 1.5, 1}, Tensor.arange(DType.FLOAT64, 2, 0.9, -0.5).toDoubleArray());
        Tensor x = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 3, 2);
        assertArrayEquals(new double[] {5, 6, 1, 2, 5, 6}, x.indexSelect(0, Tensor.ofInts(new int[] {2, 0, 2}, 3)).toDoubleArray());
        assertArrayEquals(new double[] {2, 3, 6}, x.gather(1, Tensor.ofInts(new int[] {1, 0, 1}, 3, 1)).reshape(3).toDoubleArray());
        Tensor sa = Tensor.zeros(DType.FLOAT64, 2, 2).scatterAdd(0, Tensor.ofInts(new int[] {1, 1}, 1, 2), Tensor.of(new double[] {5, 7}, 1, 2));
        assertArrayEquals(new double[] {0, 0, 5, 7}, sa.toDoubleArray());
        Tensor ia = Tensor.zeros(DType.FLOAT64, 3).indexAdd(0, Tensor.ofInts(new int[] {2, 2, 0}, 3), Tensor.of(new double[] {1, 2, 3}, 3));
        assertArrayEquals(new double[] {3, 0, 3}, ia.toDoubleArray());
        Tensor mask = Tensor.ofBools(new boolean[] {true, false, true}, 3);
        assertArrayEquals(new double[] {1, 2, 5, 6}, x.maskedRows(mask).toDoubleArray());
        Tensor table = Tensor.of(new double[] {0, 0, 1, 1, 2, 2}, 3, 2);
        assertEquals(Shape.of(2, 2, 2), Functional.embedding(table, Tensor.ofInts(new int[] {2, 1, 0, 2}, 2, 2)).shape());
        assertEquals("tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], shape=[3, 2], float64)", x.toString());
        assertEquals(List.of(3, 2), List.of(x.size(0), x.size(-1)));
    }
}
