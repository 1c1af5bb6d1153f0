package dev.peco4j.peco.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.Module;
import dev.peco4j.peco.tokenizer.VectorQuantizer.LossForm;
import dev.peco4j.peco.tokenizer.VectorQuantizer.Options;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Tensor;
import dev.peco4j.tensor.testing.Property;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VectorQuantizerTest {
    private static VectorQuantizer quantizer(long seed, int k, int d, LossForm form, Options o) {
        VectorQuantizer q = new VectorQuantizer(new Generator(seed), k, d, 0.25, form, o);
        q.to(DType.FLOAT64);
        try (var ignored = Autograd.noGrad()) {
            q.codebook().copyFrom(Tensor.randn(new Generator(seed + 1), k, q.codebook().size(1)).to(DType.FLOAT64));
        }
        return q;
    }

    @Test
    void nearestIsTheBruteForceArgminWithTiesToTheLowestIndex() {
        Property.check("vq nearest = brute force", 40, gen -> {
            int k = gen.intIn(1, 40), d = gen.intIn(1, 9), n = gen.intIn(1, 60);
            double[] e = new double[k * d], z = new double[n * d];
            for (int i = 0; i < e.length; i++) e[i] = Math.round(gen.uniform(-4, 4)) / 2.0;  // a coarse grid: ties happen
            for (int c = 1; c < k; c += 3) System.arraycopy(e, 0, e, c * d, d);                     // and duplicate codes
            for (int i = 0; i < z.length; i++) z[i] = Math.round(gen.uniform(-4, 4)) / 2.0;
            int[] got = Functional.nearestRows(Tensor.of(z, n, d), Tensor.of(e, k, d)).toIntArray();
            for (int r = 0; r < n; r++) {
                int best = 0;
                double bestD = Double.POSITIVE_INFINITY;
                for (int c = 0; c < k; c++) {
                    double s = 0;
                    for (int j = 0; j < d; j++) s += (z[r * d + j] - e[c * d + j]) * (z[r * d + j] - e[c * d + j]);
                    if (s < bestD) {
                        bestD = s;
                        best = c;
                    }
                }
                assertEquals(best, got[r], "row " + r);
            }
        });
    }

    @Test
    void theStraightThroughGradientIsTheDownstreamGradient() {
        VectorQuantizer q = quantizer(3, 12, 4, LossForm.PAPER, Options.TAMING);
        Tensor z = Tensor.randn(new Generator(9), 2, 4, 3, 3).to(DType.FLOAT64).requiresGrad(true);
        Tensor w = Tensor.randn(new Generator(10), 2, 4, 3, 3).to(DType.FLOAT64);
        VectorQuantizer.Result r = q.quantize(z);
        assertArrayEquals(q.lookup(r.indices()).toDoubleArray(), r.quantized().toDoubleArray(), 1e-12, "the forward value is the code");
        r.quantized().mul(w).sum().backward();
        assertArrayEquals(w.toDoubleArray(), z.grad().toDoubleArray(), 0, "d/dz of Σ w·q(z) is w");
        assertEquals(null, q.codebook().grad(), "the straight-through path reaches no code");
    }

    /** Central differences of f at x (float64, contiguous), element by element. */
    static double[] numericGradient(java.util.function.Supplier<Double> f, Tensor x) {
        double[] g = new double[(int) x.numel()];
        for (int i = 0; i < g.length; i++) g[i] = AdaptiveWeightTest.central(f, x, i);
        return g;
    }

    @Test
    void bothLossFormsSplitTheFiniteDifferenceGradientWhereBetaSays() {
        // both terms have the value m = mean((e_k − z)²); the stop-gradients send β·∂m/∂z to z and 1·∂m/∂e to the
        // codebook (the paper's form), or 1·∂m/∂z and β·∂m/∂e (legacy); ∂m by float64 central differences
        for (LossForm form : LossForm.values()) {
            VectorQuantizer q = quantizer(4, 10, 3, form, Options.TAMING);
            Tensor z = Tensor.randn(new Generator(11), 2, 3, 2, 2).to(DType.FLOAT64).requiresGrad(true);
            int[] idx = q.quantize(z).indices().toIntArray();
            java.util.function.Supplier<Double> m = () -> q.lookup(Tensor.ofInts(idx, 2, 2, 2)).sub(z).square().mean().item();
            double[] dz = numericGradient(m, z), de = numericGradient(m, q.codebook());
            q.quantize(z).loss().backward();
            double wz = form == LossForm.PAPER ? 0.25 : 1, we = form == LossForm.PAPER ? 1 : 0.25;
            double[] gz = z.grad().toDoubleArray(), ge = q.codebook().grad().toDoubleArray();
            for (int i = 0; i < dz.length; i++) assertEquals(wz * dz[i], gz[i], 1e-8, form + " d/dz " + i);
            for (int i = 0; i < de.length; i++) assertEquals(we * de[i], ge[i], 1e-8, form + " d/de " + i);
            assertArrayEquals(idx, q.quantize(z).indices().toIntArray(), "no assignment moved while differencing");
        }
    }

    @Test
    void emaMovesEachUsedCodeToTheRunningMeanOfItsVectors() {
        VectorQuantizer q = quantizer(5, 6, 2, LossForm.PAPER, new Options(0, false, 0.5, 1e-5, 0, 0));
        q.train(true);
        assertTrue(!q.codebook().requiresGrad(), "an EMA codebook is not trained by gradient");
        Tensor z = Tensor.randn(new Generator(13), 1, 2, 4, 4).to(DType.FLOAT64);
        Tensor before = q.codebook().detach().contiguous().mul(1.0), avg = q.stateDict().get("embed_avg").mul(1.0);
        Tensor flat = z.permute(0, 2, 3, 1).reshape(-1, 2);
        int[] idx = Functional.nearestRows(flat, before).toIntArray();
        VectorQuantizer.Result r = q.quantize(z);
        assertArrayEquals(idx, r.indices().toIntArray());
        // by hand: cluster_size = 0.5·0 + 0.5·n_k; embed_avg = 0.5·e_k + 0.5·Σ z; e_k = embed_avg / smoothed n_k
        double[] n = new double[6], cs = new double[6];
        double[][] sum = new double[6][2];
        double[] f = flat.toDoubleArray();
        for (int i = 0; i < idx.length; i++) {
            n[idx[i]]++;
            sum[idx[i]][0] += f[2 * i];
            sum[idx[i]][1] += f[2 * i + 1];
        }
        double total = 0;
        for (int c = 0; c < 6; c++) total += cs[c] = 0.5 * n[c];
        double[] b = avg.toDoubleArray(), after = q.codebook().toDoubleArray();
        for (int c = 0; c < 6; c++) {
            double smoothed = (cs[c] + 1e-5) / (total + 6 * 1e-5) * total;
            for (int j = 0; j < 2; j++) assertEquals((0.5 * b[2 * c + j] + 0.5 * sum[c][j]) / smoothed, after[2 * c + j], 1e-9, "code " + c);
        }
        assertEquals(0.25 * r.quantized().sub(z).square().mean().item(), r.loss().item(), 1e-12, "EMA: the commitment term alone");
        double[] used = r.quantized().permute(0, 2, 3, 1).reshape(-1, 2).toDoubleArray(), bf = before.toDoubleArray();
        for (int i = 0; i < idx.length; i++) {
            assertEquals(bf[2 * idx[i]], used[2 * i], 1e-12, "the step quantizes with the codes before their move (taming, vector-quantize-pytorch)");
        }
        // k-means under EMA: the running sums start as mean × count (vector-quantize-pytorch's init_embed_)
        VectorQuantizer k = quantizer(5, 6, 2, LossForm.PAPER, new Options(0, false, 0.5, 1e-5, 3, 0));
        k.train(true);
        k.setGenerator(new Generator(3));
        Tensor[] mb = VectorQuantizer.kmeans(flat.detach().contiguous(), 6, 3, false, new Generator(3));
        k.quantize(z);
        Tensor avg0 = mb[0].mul(mb[1].unsqueeze(1)), cs0 = mb[1];
        // after the first step: cluster_size = 0.5·counts + 0.5·new counts, embed_avg = 0.5·mean·count + 0.5·sums
        double[] want = avg0.mul(0.5).toDoubleArray(), got = k.stateDict().get("embed_avg").toDoubleArray();
        int[] kidx = Functional.nearestRows(flat, mb[0]).toIntArray();
        for (int i = 0; i < kidx.length; i++) {
            want[2 * kidx[i]] += 0.5 * f[2 * i];
            want[2 * kidx[i] + 1] += 0.5 * f[2 * i + 1];
        }
        assertArrayEquals(want, got, 1e-9);
        double[] cs1 = cs0.mul(0.5).toDoubleArray();
        for (int i : kidx) cs1[i] += 0.5;
        assertArrayEquals(cs1, k.stateDict().get("cluster_size").toDoubleArray(), 1e-9);
    }

    @Test
    void kmeansInitPlacesCodesOnTheClustersOfTheFirstBatchOnce() {
        // four tight clusters; 4 codes from k-means land one on each, whatever the random start
        double[][] centers = {{3, 3}, {-3, 3}, {3, -3}, {-3, -3}};
        Generator g = new Generator(14);
        double[] z = new double[2 * 64];
        for (int i = 0; i < 64; i++) for (int j = 0; j < 2; j++) z[2 * i + j] = centers[i % 4][j] + 0.01 * g.nextGaussian();
        Tensor zs = Tensor.of(z, 1, 8, 8, 2).permute(0, 3, 1, 2).contiguous();
        VectorQuantizer q = quantizer(6, 4, 2, LossForm.PAPER, new Options(0, false, 0, 1e-5, 10, 0));
        q.train(true);
        q.setGenerator(new Generator(2));
        VectorQuantizer.Result r = q.quantize(zs);
        Set<Integer> used = new HashSet<>();
        for (int i : r.indices().toIntArray()) used.add(i);
        assertEquals(4, used.size(), "every code has a cluster");
        assertTrue(r.quantized().sub(zs).abs().amax().item() < 0.05, "codes sit at the cluster means");
        double[] once = q.codebook().toDoubleArray();
        q.quantize(zs.mul(2.0));
        assertArrayEquals(once, q.codebook().toDoubleArray(), 0, "k-means runs on the first batch only (the initted buffer)");
        assertEquals(1, q.stateDict().get("initted").item());
    }

    @Test
    void aCodeUnusedForNStepsIsReseededFromTheBatch() {
        VectorQuantizer q = quantizer(7, 5, 2, LossForm.PAPER, new Options(0, false, 0, 1e-5, 0, 3));
        try (var ignored = Autograd.noGrad()) {
            q.codebook().copyFrom(Tensor.of(new double[] {0, 0, 1, 1, 100, 100, 200, 200, -100, 50}, 5, 2));   // codes 2, 3, 4 far away
        }
        q.train(true);
        Tensor z = Tensor.randn(new Generator(15), 1, 2, 4, 4).to(DType.FLOAT64).mul(0.3);
        for (int step = 0; step < 2; step++) {
            q.setGenerator(Generator.derive(1, step));
            q.quantize(z);
        }
        assertEquals(100, q.codebook().toDoubleArray()[4], 0, "not yet: unused for 2 steps");
        q.setGenerator(Generator.derive(1, 2));
        q.quantize(z);
        double[] cb = q.codebook().toDoubleArray(), flat = z.permute(0, 2, 3, 1).reshape(-1, 2).toDoubleArray();
        Set<Integer> used = new HashSet<>();
        for (int i : Functional.nearestRows(z.permute(0, 2, 3, 1).reshape(-1, 2), Tensor.of(new double[] {0, 0, 1, 1, 100, 100, 200, 200, -100, 50}, 5, 2)).toIntArray()) used.add(i);
        assertTrue(used.contains(0) && !used.contains(2) && !used.contains(3) && !used.contains(4), used.toString());
        for (int c = 0; c < 5; c++) {
            if (used.contains(c)) {
                assertArrayEquals(new double[] {c, c}, new double[] {cb[2 * c], cb[2 * c + 1]}, "used code " + c + " stays");
                continue;
            }
            boolean fromBatch = false;
            for (int i = 0; i < flat.length / 2; i++) fromBatch |= cb[2 * c] == flat[2 * i] && cb[2 * c + 1] == flat[2 * i + 1];
            assertTrue(fromBatch, "code " + c + " was re-seeded with a vector of the batch: " + Arrays.toString(cb));
        }
    }

    @Test
    void cosineAndLowDimensionalLookupsQuantizeInTheirOwnSpace() {
        VectorQuantizer q = quantizer(8, 16, 6, LossForm.PAPER, new Options(3, true, 0, 1e-5, 0, 0));
        assertEquals(3, q.codebook().size(1));
        Module m = q;
        assertTrue(m.stateDict().containsKey("project_in.weight") && m.stateDict().containsKey("project_out.weight"), m.stateDict().keySet().toString());
        Tensor z = Tensor.randn(new Generator(16), 2, 6, 3, 3).to(DType.FLOAT64).requiresGrad(true);
        VectorQuantizer.Result r = q.quantize(z);
        assertArrayEquals(new int[] {2, 6, 3, 3}, r.quantized().shape().dims());
        Tensor low = q.projectIn.forward(z.permute(0, 2, 3, 1)).reshape(-1, 3);
        Tensor unit = low.div(low.norm(2, new int[] {1}, true));
        Tensor codes = q.codebook().div(q.codebook().norm(2, new int[] {1}, true));
        int[] want = unit.matmul(codes.mT()).argmax(1, false).toIntArray();                      // cosine: the largest dot product
        assertArrayEquals(want, r.indices().toIntArray());
        // the straight-through path: its gradient is that of z ↦ project_out(l2(project_in(z))), the map without the jump
        Tensor w = Tensor.randn(new Generator(17), 2, 6, 3, 3).to(DType.FLOAT64);
        r.quantized().mul(w).sum().backward();
        Tensor zz = z.detach().contiguous();
        double[] want2 = numericGradient(() -> {
            Tensor p = q.projectIn.forward(zz.permute(0, 2, 3, 1));
            return q.projectOut.forward(p.div(p.norm(2, new int[] {3}, true))).permute(0, 3, 1, 2).mul(w).sum().item();
        }, zz);
        assertArrayEquals(want2, z.grad().toDoubleArray(), 1e-7);
        assertNotEquals(0, r.loss().item());
    }
}
