package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.testing.Gen;
import dev.peco4j.tensor.testing.Property;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A device's kernels ({@link GpuKernels}) against the host reference, kernel by kernel, on random
 * shapes and views: {@link OpenClBackendTest} (CI runs it on Debian's PoCL CPU device) and
 * {@link CudaBackendTest}. Each case also checks that the kernel ran on the device: the device's
 * count of host fallbacks must not move. Without the device the class is skipped, with the reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class GpuBackendTest {
    private static final Backend REF = ScalarBackend.INSTANCE;
    private static final int[] AWKWARD = {1, 7, 17, 65, 257};
    private Device dev;

    /** The device under test, by name: {@code opencl}, {@code cuda}. */
    abstract String deviceName();

    @BeforeAll
    void openDevice() {
        try {
            dev = Device.get(deviceName());
        } catch (DeviceUnavailableException e) {
            System.out.println(getClass().getSimpleName() + " skipped: " + e.getMessage());
            Assumptions.abort(e.getMessage());
        }
    }

    private static int size(Gen g) {
        return g.chance(0.3) ? AWKWARD[g.intIn(0, AWKWARD.length - 1)] : g.intIn(1, 24);
    }

    /** One float32 input, as a host tensor and as the same view of a device copy of its leaf. */
    private record Pair(Tensor host, Tensor device) {}

    private Pair f32(Gen g, int... shape) {
        return f32(g, new Gen.Values(-2, 2, 0), shape);
    }

    private Pair f32(Gen g, Gen.Values v, int... shape) {
        Gen.Input in = g.input(shape, v);
        Tensor leaf = in.leaf().detach().to(DType.FLOAT32);
        return new Pair(in.view(leaf), in.view(leaf.to(dev)));
    }

    /** |a − e| ≤ rtol·(|e| + 1e-2·max|e|) + atol elementwise, on the same shape and dtype. */
    private void close(Tensor expected, Tensor actual, double rtol, double atol, String what) {
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertSame(dev, actual.device(), what + ": the result is not on the device");
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        double scale = 1e-30;
        for (double x : e) if (Double.isFinite(x)) scale = Math.max(scale, Math.abs(x));
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(a[i] - e[i]);
            boolean same = e[i] == a[i] || (Double.isNaN(e[i]) && Double.isNaN(a[i]));
            if (!same && !(err <= rtol * (Math.abs(e[i]) + scale * 1e-2) + atol)) {
                throw new AssertionError(what + ": element " + i + " expected " + e[i] + " got " + a[i] + " (rtol " + rtol + ")");
            }
        }
    }

    /** Runs kernel on the reference and on the device; the device must not fall back to the host. */
    private void check(String what, double rtol, double atol, Function<Backend, Tensor> onHost, Function<Backend, Tensor> onDevice) {
        Map<String, Long> before = dev.hostFallbacks();
        Tensor got = onDevice.apply(dev.backend());
        assertEquals(before, dev.hostFallbacks(), what + ": ran on the host instead of the device");
        close(onHost.apply(REF), got, rtol, atol, what);
    }

    @Test
    void copiesCastsAndWritesThroughViews() {
        Property.check(dev + " copy/cast/copyInto", 40, g -> {
            int[] shape = g.shape(0, 4, 6);
            Pair x = f32(g, new Gen.Values(-3, 3, 0, 0), shape);
            DType to = g.pick(new DType[] {DType.FLOAT32, DType.INT32, DType.BOOL});
            check("copy to " + to, 0, 0, b -> b.copy(x.host(), to), b -> b.copy(x.device(), to));
            Tensor ints = x.host().to(DType.INT32), intsDev = ints.to(dev);
            check("copy int32 to float32", 0, 0, b -> b.copy(ints, DType.FLOAT32), b -> b.copy(intsDev, DType.FLOAT32));
            // copyInto a slice of a fresh buffer, from a broadcast source
            int[] full = shape.clone();
            int d = shape.length == 0 ? -1 : g.intIn(0, shape.length - 1);
            if (d >= 0) full[d] += 2;
            Tensor dstHost = Tensor.zeros(full), dstDev = dstHost.to(dev);
            Tensor viewHost = d >= 0 ? dstHost.slice(d, 1, 1 + shape[d], 1) : dstHost;
            Tensor viewDev = d >= 0 ? dstDev.slice(d, 1, 1 + shape[d], 1) : dstDev;
            Pair src = f32(g, shape.length == 0 ? new int[0] : new int[] {shape[shape.length - 1]});
            REF.copyInto(viewHost, src.host());
            Map<String, Long> before = dev.hostFallbacks();
            dev.backend().copyInto(viewDev, src.device());
            assertEquals(before, dev.hostFallbacks(), "copyInto ran on the host");
            assertArrayEquals(dstHost.toFloatArray(), dstDev.toFloatArray(), "copyInto");
        });
    }

    @Test
    void everyUnaryFunctionAndItsDerivative() {
        UnaryOps.Fn[] fns = {UnaryOps.NEG, UnaryOps.EXP, UnaryOps.LOG, UnaryOps.SQRT, UnaryOps.RSQRT, UnaryOps.ABS, UnaryOps.SIGN,
            UnaryOps.SIN, UnaryOps.COS, UnaryOps.TANH, UnaryOps.SIGMOID, UnaryOps.RELU, UnaryOps.RELU6, UnaryOps.GELU, UnaryOps.SILU,
            UnaryOps.leakyRelu(0.2), UnaryOps.clamp(-0.5, 1.5), UnaryOps.powScalar(3), UnaryOps.powScalar(0.5)};
        Property.check(dev + " map", 60, g -> {
            UnaryOps.Fn fn = g.pick(fns);
            boolean positive = fn.op() == Op.LOG || fn.op() == Op.SQRT || fn.op() == Op.RSQRT || fn.op() == Op.POW_SCALAR;
            Gen.Values v = positive ? new Gen.Values(0.1, 3, 0) : new Gen.Values(-7, 7, 0);
            int[] shape = g.shape(0, 3, 40);
            Pair x = f32(g, v, shape), gy = f32(g, shape);
            check("map " + fn.op(), 3e-6, 1e-7, b -> b.map(fn, x.host()), b -> b.map(fn, x.device()));
            Tensor y = REF.map(fn, x.host()), yDev = y.to(dev);
            check("map backward " + fn.op(), 3e-6, 1e-7, b -> b.mapBackward(fn, x.host(), y, gy.host()),
                    b -> b.mapBackward(fn, x.device(), yDev, gy.device()));
        });
    }

    @Test
    void binaryFunctionsBroadcastOverViews() {
        Property.check(dev + " zip", 60, g -> {
            BinaryOps.Fn fn = g.pick(BinaryOps.Fn.values());
            int[][] shapes = g.broadcastPair(0, 4, 5);
            boolean compare = fn.ordinal() >= BinaryOps.Fn.EQ.ordinal();
            Gen.Values v = fn == BinaryOps.Fn.POW ? new Gen.Values(0.2, 2, 0) : new Gen.Values(-2, 2, 0, 0);
            Pair a = f32(g, v, shapes[0]), b = f32(g, v, shapes[1]);
            if (g.chance(0.3) && !compare) { // integers, with DIV and POW left to floats
                if (fn == BinaryOps.Fn.DIV || fn == BinaryOps.Fn.POW) return;
                Tensor ai = a.host().mul(3).to(DType.INT32), bi = b.host().mul(3).to(DType.INT32);
                Tensor aiDev = ai.to(dev), biDev = bi.to(dev);
                check("zip int32 " + fn, 0, 0, be -> be.zip(fn, ai, bi, DType.INT32), be -> be.zip(fn, aiDev, biDev, DType.INT32));
                return;
            }
            DType out = compare ? DType.BOOL : DType.FLOAT32;
            check("zip " + fn, 2e-6, 0, be -> be.zip(fn, a.host(), b.host(), out), be -> be.zip(fn, a.device(), b.device(), out));
        });
    }

    @Test
    void whereSelectsThroughViews() {
        Property.check(dev + " where", 30, g -> {
            int[] shape = g.shape(0, 3, 8);
            Pair c = f32(g, shape), a = f32(g, shape), b = f32(g, shape);
            Tensor cond = REF.zip(BinaryOps.Fn.GT, c.host(), Tensor.scalar(0, DType.FLOAT32), DType.BOOL), condDev = cond.to(dev);
            check("where", 0, 0, be -> be.where(cond, a.host(), b.host()), be -> be.where(condDev, a.device(), b.device()));
        });
    }

    @Test
    void sumsAndMaximaOverAnyDims() {
        Property.check(dev + " sum/amax", 50, g -> {
            int[] shape = g.shape(1, 4, 9);
            if (g.chance(0.2)) shape[g.intIn(0, shape.length - 1)] = 700;
            int[] dims = pickDims(g, shape.length);
            Pair x = f32(g, shape);
            check("sum " + java.util.Arrays.toString(dims), 1e-5, 1e-6, b -> b.sum(x.host(), dims), b -> b.sum(x.device(), dims));
            check("amax", 0, 0, b -> b.amax(x.host(), dims), b -> b.amax(x.device(), dims));
            Tensor ints = x.host().mul(10).to(DType.INT32), intsDev = ints.to(dev);
            check("sum int32", 0, 0, b -> b.sum(ints, dims), b -> b.sum(intsDev, dims));
        });
    }

    private static int[] pickDims(Gen g, int rank) {
        int[] dims = new int[rank];
        int n = 0;
        for (int d = 0; d < rank; d++) if (g.chance(0.5)) dims[n++] = d;
        if (n == 0) dims[n++] = g.intIn(0, rank - 1);
        return java.util.Arrays.copyOf(dims, n);
    }

    @Test
    void softmaxAndLogSoftmaxAlongAnyDim() {
        Property.check(dev + " softmax", 40, g -> {
            int[] shape = g.shape(1, 4, 9);
            if (g.chance(0.3)) shape[shape.length - 1] = 300;
            int dim = g.intIn(0, shape.length - 1);
            boolean log = g.chance(0.5);
            Pair x = f32(g, new Gen.Values(-6, 6, 0), shape), gy = f32(g, shape);
            check("softmax", 2e-6, 1e-7, b -> b.softmax(x.host(), dim, log), b -> b.softmax(x.device(), dim, log));
            Tensor y = REF.softmax(x.host(), dim, log), yDev = y.to(dev);
            check("softmax backward", 1e-5, 1e-6, b -> b.softmaxBackward(y, gy.host(), dim, log),
                    b -> b.softmaxBackward(yDev, gy.device(), dim, log));
        });
    }

    @Test
    void gemmOverTransposesBatchesBiasAndActivations() {
        UnaryOps.Fn[] acts = {null, UnaryOps.GELU, UnaryOps.RELU, UnaryOps.SILU};
        Property.check(dev + " bmm/linear", 40, g -> {
            int batch = g.intIn(1, 3), n = size(g), k = size(g), m = size(g);
            Pair a = g.chance(0.5) ? f32(g, batch, n, k) : transposed(f32(g, batch, k, n));
            Pair b = g.chance(0.5) ? f32(g, batch, k, m) : transposed(f32(g, batch, m, k));
            double tol = 1e-5 * Math.sqrt(k);
            check("bmm " + n + "x" + k + "x" + m, tol, 1e-6, be -> be.bmm(a.host(), b.host()), be -> be.bmm(a.device(), b.device()));
            Pair x = f32(g, n, k), w = f32(g, m, k);
            Pair bias = g.chance(0.5) ? f32(g, m) : null;
            UnaryOps.Fn act = g.pick(acts);
            Tensor bh = bias == null ? null : bias.host(), bd = bias == null ? null : bias.device();
            check("linear y", tol, 1e-6, be -> be.linear(x.host(), w.host(), bh, act)[0], be -> be.linear(x.device(), w.device(), bd, act)[0]);
            if (act != null) {
                check("linear z", tol, 1e-6, be -> be.linear(x.host(), w.host(), bh, act)[1], be -> be.linear(x.device(), w.device(), bd, act)[1]);
            }
        });
    }

    private Pair transposed(Pair p) {
        return new Pair(p.host().transpose(1, 2), p.device().transpose(1, 2));
    }

    @Test
    void adamStepMatchesTheReference() {
        Property.check(dev + " adam", 20, g -> {
            int[] shape = g.shape(1, 3, 30);
            Tensor p = Tensor.randn(new Generator(g.intIn(0, 1000)), shape), grad = Tensor.randn(new Generator(g.intIn(0, 1000)), shape);
            Tensor m = grad.mul(0.1), v = grad.square().mul(0.01);
            Tensor pd = p.to(dev), gd = grad.to(dev), md = m.to(dev), vd = v.to(dev);
            AdamStep s = new AdamStep(1e-2, 0.9, 0.999, 1e-8, g.chance(0.5) ? 0.05 : 0, g.chance(0.5), 1 - 0.9 * 0.9, 1 - 0.999 * 0.999);
            REF.adamStep(p, grad, m, v, s);
            Map<String, Long> before = dev.hostFallbacks();
            dev.backend().adamStep(pd, gd, md, vd, s);
            assertEquals(before, dev.hostFallbacks(), "adam ran on the host");
            close(p, pd, 1e-5, 1e-7, "adam p");
            close(m, md, 1e-5, 1e-8, "adam m");
            close(v, vd, 1e-5, 1e-8, "adam v");
        });
    }

    @Test
    void layerNormForwardAndBackward() {
        Property.check(dev + " layer_norm", 30, g -> {
            int rows = size(g), d = g.chance(0.3) ? 300 : size(g);
            Pair x = f32(g, rows, d), dy = f32(g, rows, d);
            boolean affine = g.chance(0.7);
            Pair w = affine ? f32(g, d) : null, b = affine && g.chance(0.7) ? f32(g, d) : null;
            Tensor wh = w == null ? null : w.host(), wd = w == null ? null : w.device(), bh = b == null ? null : b.host(), bd = b == null ? null : b.device();
            // atol: a constant row (an expanded view) has x − mean ≈ 0 in float32 and rstd = 1/√eps ≈ 316 amplifies it
            for (int out = 0; out < 3; out++) {
                int o = out;
                check("layer_norm " + o, 2e-5, 1e-4, be -> be.layerNorm(x.host(), wh, bh, d, 1e-5)[o], be -> be.layerNorm(x.device(), wd, bd, d, 1e-5)[o]);
            }
            Tensor[] saved = REF.layerNorm(x.host(), wh, bh, d, 1e-5);
            Tensor mean = saved[1], rstd = saved[2], meanD = mean.to(dev), rstdD = rstd.to(dev);
            for (int out = 0; out < (affine ? 3 : 1); out++) {
                int o = out;
                check("layer_norm backward " + o, 1e-4, 1e-3, be -> be.layerNormBackward(dy.host(), x.host(), wh, mean, rstd, d)[o],
                        be -> be.layerNormBackward(dy.device(), x.device(), wd, meanD, rstdD, d)[o]);
            }
        });
    }

    @Test
    void crossEntropyForwardAndBackward() {
        Property.check(dev + " cross_entropy", 30, g -> {
            int m = size(g), c = g.chance(0.3) ? 1000 : size(g);
            Pair x = f32(g, new Gen.Values(-5, 5, 0), m, c);
            int ignore = g.chance(0.5) ? -100 : 0;
            int[] labels = new int[m];
            for (int i = 0; i < m; i++) labels[i] = g.chance(0.2) ? ignore : g.intIn(0, c - 1);
            Tensor t = Tensor.ofInts(labels, m), td = t.to(dev);
            double eps = g.chance(0.5) ? 0 : 0.1;
            check("cross_entropy loss", 1e-5, 1e-6, be -> be.crossEntropy(x.host(), t, eps, ignore)[0], be -> be.crossEntropy(x.device(), td, eps, ignore)[0]);
            check("cross_entropy lse", 1e-6, 1e-6, be -> be.crossEntropy(x.host(), t, eps, ignore)[1], be -> be.crossEntropy(x.device(), td, eps, ignore)[1]);
            Tensor lse = REF.crossEntropy(x.host(), t, eps, ignore)[1], lseD = lse.to(dev);
            Pair gy = f32(g, m);
            check("cross_entropy backward", 1e-5, 1e-6, be -> be.crossEntropyBackward(x.host(), lse, t, gy.host(), eps, ignore),
                    be -> be.crossEntropyBackward(x.device(), lseD, td, gy.device(), eps, ignore));
        });
    }

    /** The code search runs as its ops on the device (it is a composite), with ties to the lowest index. */
    @Test
    void nearestRowsRunsOnTheDevice() {
        Property.check(dev + " nearestRows", 20, g -> {
            int n = g.intIn(1, 300), k = g.intIn(1, 70), d = g.intIn(1, 9);
            // small integers: every distance exact in float32, so the device's sums equal the host's; duplicate codes tie
            Tensor z = Tensor.randint(new Generator(g.intIn(0, 99)), -3, 4, n, d).to(DType.FLOAT32);
            Tensor codes = Tensor.randint(new Generator(g.intIn(0, 99)), -3, 4, k, d).to(DType.FLOAT32);
            Tensor e = Tensor.cat(java.util.List.of(codes, codes), 0);
            Tensor zD = z.to(dev), eD = e.to(dev);
            Tensor zz = z.square().sum(new int[] {1}, true), ee = e.square().sum(1);
            Tensor zzD = zz.to(dev), eeD = ee.to(dev);
            check("nearestRows", 0, 0, be -> be.nearestRows(z, e, zz, ee), be -> be.nearestRows(zD, eD, zzD, eeD));
        });
    }

    @Test
    void argmaxTakesTheFirstOfEqualValues() {
        Property.check(dev + " argmax", 30, g -> {
            int[] shape = g.shape(1, 3, 9);
            if (g.chance(0.3)) shape[shape.length - 1] = 600;
            int dim = g.intIn(0, shape.length - 1);
            boolean min = g.chance(0.5);
            Tensor ties = Tensor.randint(new Generator(g.intIn(0, 99)), 0, 4, shape).to(DType.FLOAT32); // many equal values
            Tensor tiesD = ties.to(dev);
            check("argmax", 0, 0, be -> be.argmax(ties, dim, min), be -> be.argmax(tiesD, dim, min));
        });
    }

    @Test
    void attentionWithBiasAndKeyMaskForwardAndBackward() {
        Property.check(dev + " sdpa", 25, g -> {
            int b = g.intIn(1, 2), h = g.intIn(1, 3), n = size(g), m = g.chance(0.5) ? n : size(g), d = g.intIn(1, 20), e = g.intIn(1, 20);
            Pair q = f32(g, b, h, n, d), k = f32(g, b, h, m, d), v = f32(g, b, h, m, e), go = f32(g, b, h, n, e);
            boolean withBias = g.chance(0.5), perBatch = g.chance(0.5);
            Tensor bias = withBias ? Tensor.randn(new Generator(g.intIn(0, 99)), perBatch ? b : 1, h, n, m) : null;
            Tensor mask = null;
            if (g.chance(0.5)) {
                boolean[] keep = new boolean[b * m];
                for (int i = 0; i < keep.length; i++) keep[i] = g.chance(0.8);
                if (g.chance(0.3)) for (int j = 0; j < m; j++) keep[j] = false; // a batch with every key masked
                mask = Tensor.ofBools(keep, b, m);
            }
            Tensor biasD = bias == null ? null : bias.to(dev), maskH = mask, maskD = mask == null ? null : mask.to(dev);
            double scale = 1 / Math.sqrt(d);
            for (int out = 0; out < 2; out++) {
                int o = out;
                check("sdpa " + o, 1e-4, 1e-6, be -> be.sdpa(q.host(), k.host(), v.host(), bias, maskH, scale)[o],
                        be -> be.sdpa(q.device(), k.device(), v.device(), biasD, maskD, scale)[o]);
            }
            Tensor[] fwd = REF.sdpa(q.host(), k.host(), v.host(), bias, maskH, scale);
            Tensor outD = fwd[0].to(dev), lseD = fwd[1].to(dev);
            for (int grad = 0; grad < (withBias ? 4 : 3); grad++) {
                int o = grad;
                check("sdpa backward " + o, 1e-4, 1e-5,
                        be -> be.sdpaBackward(go.host(), q.host(), k.host(), v.host(), bias, maskH, fwd[0], fwd[1], scale, withBias)[o],
                        be -> be.sdpaBackward(go.device(), q.device(), k.device(), v.device(), biasD, maskD, outD, lseD, scale, withBias)[o]);
            }
        });
    }

    @Test
    void convolutionWithStridePaddingDilationAndGroups() {
        Property.check(dev + " conv2d", 30, g -> {
            int groups = g.intIn(1, 3), c = groups * g.intIn(1, 3), o = groups * g.intIn(1, 3), kh = g.intIn(1, 4), kw = g.intIn(1, 4);
            int stride = g.intIn(1, 3), pad = g.intIn(0, 2), dil = g.intIn(1, 2);
            int hh = g.intIn((kh - 1) * dil + 1, 12), ww = g.intIn((kw - 1) * dil + 1, 12), n = g.intIn(1, 3);
            Conv2dParams p = new Conv2dParams(stride, stride, pad, pad, dil, dil, groups, 0, 0);
            Pair x = f32(g, n, c, hh, ww), w = f32(g, o, c / groups, kh, kw);
            check("conv2d", 1e-5, 1e-6, be -> be.conv2d(x.host(), w.host(), p), be -> be.conv2d(x.device(), w.device(), p));
            Tensor y = REF.conv2d(x.host(), w.host(), p);
            Pair gy = f32(g, y.shape().dims());
            check("conv2d backward input", 1e-5, 1e-6, be -> be.conv2dBackwardInput(gy.host(), w.host(), x.host().shape(), p),
                    be -> be.conv2dBackwardInput(gy.device(), w.device(), x.host().shape(), p));
            check("conv2d backward weight", 1e-5, 1e-6, be -> be.conv2dBackwardWeight(gy.host(), x.host(), w.host().shape(), p),
                    be -> be.conv2dBackwardWeight(gy.device(), x.device(), w.host().shape(), p));
        });
    }

    @Test
    void groupNormForwardAndBackward() {
        Property.check(dev + " group_norm", 30, g -> {
            int groups = g.intIn(1, 4), n = g.intIn(1, 3), c = groups * g.intIn(1, 4), h = g.intIn(1, 9), w = g.intIn(1, 9);
            Pair x = f32(g, n, c, h, w), dy = f32(g, n, c, h, w);
            Pair wt = g.chance(0.7) ? f32(g, c) : null, bt = g.chance(0.7) ? f32(g, c) : null;
            Tensor wh = wt == null ? null : wt.host(), wd = wt == null ? null : wt.device(), bh = bt == null ? null : bt.host(), bd = bt == null ? null : bt.device();
            // atol as for layer norm: a constant group (an expanded view) amplifies float32 rounding by 1/√eps
            for (int out = 0; out < 3; out++) {
                int o = out;
                check("group_norm " + o, 2e-5, 1e-4, be -> be.groupNorm(x.host(), wh, bh, groups, 1e-5)[o], be -> be.groupNorm(x.device(), wd, bd, groups, 1e-5)[o]);
            }
            Tensor[] saved = REF.groupNorm(x.host(), wh, bh, groups, 1e-5);
            Tensor meanD = saved[1].to(dev), rstdD = saved[2].to(dev);
            for (int out = 0; out < 3; out++) {
                int o = out;
                if ((o == 1 && wt == null) || (o == 2 && bt == null)) continue;
                check("group_norm backward " + o, 1e-4, 1e-3, be -> be.groupNormBackward(dy.host(), x.host(), wh, bh, saved[1], saved[2], groups)[o],
                        be -> be.groupNormBackward(dy.device(), x.device(), wd, bd, meanD, rstdD, groups)[o]);
            }
        });
    }

    @Test
    void poolingForwardAndBackward() {
        Property.check(dev + " pooling", 40, g -> {
            int k = g.intIn(1, 4), stride = g.intIn(1, 3), pad = g.intIn(0, k / 2), n = g.intIn(1, 2), c = g.intIn(1, 3);
            int h = g.intIn(k, 11), w = g.intIn(k, 11);
            Pool2dParams p = Pool2dParams.of(k, stride, pad).withCeilMode(g.chance(0.3)).withCountIncludePad(g.chance(0.5));
            if (g.chance(0.3) && h >= 2 * k && w >= 2 * k) p = p.withDilation(2);
            Pool2dParams pp = p;
            Pair x = f32(g, n, c, h, w);
            if (pp.dilationH() == 1) {
                check("avg_pool2d", 1e-6, 1e-7, b -> b.avgPool2d(x.host(), pp), b -> b.avgPool2d(x.device(), pp));
                Pair gy = f32(g, REF.avgPool2d(x.host(), pp).shape().dims());
                check("avg_pool2d backward", 1e-6, 1e-7, b -> b.avgPool2dBackward(gy.host(), x.host().shape(), pp),
                        b -> b.avgPool2dBackward(gy.device(), x.host().shape(), pp));
            }
            check("max_pool2d", 0, 0, b -> b.maxPool2d(x.host(), pp)[0], b -> b.maxPool2d(x.device(), pp)[0]);
            check("max_pool2d indices", 0, 0, b -> b.maxPool2d(x.host(), pp)[1], b -> b.maxPool2d(x.device(), pp)[1]);
            Tensor[] mp = REF.maxPool2d(x.host(), pp);
            Pair gm = f32(g, mp[0].shape().dims());
            Tensor idxD = mp[1].to(dev);
            check("max_pool2d backward", 1e-6, 1e-7, b -> b.maxPool2dBackward(gm.host(), mp[1], x.host().shape()),
                    b -> b.maxPool2dBackward(gm.device(), idxD, x.host().shape()));
            int oh = g.intIn(1, h), ow = g.intIn(1, w);
            check("adaptive_avg_pool2d", 1e-6, 1e-7, b -> b.adaptiveAvgPool2d(x.host(), oh, ow), b -> b.adaptiveAvgPool2d(x.device(), oh, ow));
            Pair ga = f32(g, n, c, oh, ow);
            check("adaptive_avg_pool2d backward", 1e-6, 1e-7, b -> b.adaptiveAvgPool2dBackward(ga.host(), x.host().shape()),
                    b -> b.adaptiveAvgPool2dBackward(ga.device(), x.host().shape()));
        });
    }

    private Tensor indices(Gen g, int bound, int... shape) {
        return Tensor.randint(new Generator(g.intIn(0, 9999)), 0, bound, shape);
    }

    @Test
    void indexSelectAndIndexAddAlongAnyDim() {
        Property.check(dev + " index_select/index_add", 30, g -> {
            int[] shape = g.shape(1, 4, 7);
            int dim = g.intIn(0, shape.length - 1), len = g.intIn(0, 12);
            Pair x = f32(g, shape);
            Tensor index = indices(g, shape[dim], len), indexD = index.to(dev);
            check("index_select", 0, 0, b -> b.indexSelect(x.host(), dim, index), b -> b.indexSelect(x.device(), dim, indexD));
            Tensor ints = x.host().mul(5).to(DType.INT32), intsD = ints.to(dev);
            check("index_select int32", 0, 0, b -> b.indexSelect(ints, dim, index), b -> b.indexSelect(intsD, dim, indexD));
            int[] srcShape = shape.clone();
            srcShape[dim] = len;
            Pair src = f32(g, srcShape);
            check("index_add", 1e-6, 1e-6, b -> b.indexAdd(x.host(), dim, index, src.host()), b -> b.indexAdd(x.device(), dim, indexD, src.device()));
        });
    }

    @Test
    void gatherAndScatterAddAlongAnyDim() {
        Property.check(dev + " gather/scatter_add", 30, g -> {
            int[] shape = g.shape(1, 4, 6);
            int dim = g.intIn(0, shape.length - 1);
            int[] idxShape = shape.clone();
            for (int d = 0; d < shape.length; d++) idxShape[d] = d == dim ? g.intIn(0, 8) : g.intIn(0, shape[d]);
            Pair x = f32(g, shape);
            Tensor index = indices(g, shape[dim], idxShape);
            Tensor indexD = g.chance(0.5) || index.dim() < 2 ? index.to(dev) : index.transpose(0, index.dim() - 1).contiguous().transpose(0, index.dim() - 1).to(dev);
            check("gather", 0, 0, b -> b.gather(x.host(), dim, index), b -> b.gather(x.device(), dim, indexD));
            int[] srcShape = idxShape.clone();
            for (int d = 0; d < srcShape.length; d++) srcShape[d] += g.intIn(0, 2); // src may be larger than the index
            Pair src = f32(g, srcShape);
            check("scatter_add", 1e-6, 1e-6, b -> b.scatterAdd(x.host(), dim, index, src.host()), b -> b.scatterAdd(x.device(), dim, indexD, src.device()));
        });
    }

    @Test
    void tensorsMoveExplicitlyAndGradientsFlowBack() {
        Tensor x = Tensor.of(new float[] {1, -2, 3, 4, 5, -6}, 2, 3).requiresGrad(true);
        Tensor d = x.to(dev);
        assertSame(dev, d.device());
        assertSame(d, d.to(dev));
        Tensor loss = d.mul(d).sum();
        assertSame(dev, loss.device());
        assertEquals(91.0, loss.item(), 1e-5);
        loss.backward();
        assertSame(Device.cpu(), x.grad().device());
        assertArrayEquals(new float[] {2, -4, 6, 8, 10, -12}, x.grad().toFloatArray());
        assertTrue(d.toString().contains("device=" + dev), d.toString());
    }

    @Test
    void mixingDevicesIsAnErrorNamingBoth() {
        Tensor a = Tensor.ones(2, 3).to(dev), b = Tensor.ones(2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(e.getMessage().contains("cpu") && e.getMessage().contains(dev.toString()) && e.getMessage().startsWith("add"), e.getMessage());
        assertArrayEquals(new float[] {3, 3, 3, 3, 3, 3}, a.add(2.0).toFloatArray()); // a host scalar joins
        IllegalArgumentException f64 = assertThrows(IllegalArgumentException.class, () -> Tensor.ones(DType.FLOAT64, 2).to(dev));
        assertTrue(f64.getMessage().contains("float64"), f64.getMessage());
    }

    @Test
    void anOpWithoutADeviceKernelRunsOnTheHostAndIsCounted() {
        Tensor x = Tensor.randn(new Generator(3), 2, 3).to(dev), y = Tensor.randn(new Generator(4), 2, 3).to(dev);
        long before = dev.hostFallbacks().getOrDefault("zip", 0L);
        Tensor z = dev.backend().zip(BinaryOps.Fn.POW, x.to(DType.INT32), y.to(DType.INT32), DType.INT32); // no int32 pow kernel
        assertSame(dev, z.device());
        assertEquals(before + 1, dev.hostFallbacks().get("zip"));
        close(REF.zip(BinaryOps.Fn.POW, x.toHost().to(DType.INT32), y.toHost().to(DType.INT32), DType.INT32), z, 0, 0, "int32 pow through the host");
    }

    @Test
    void unknownAndMissingDevicesSaySoInOneLine() {
        assertThrows(IllegalArgumentException.class, () -> Device.get("tpu"));
        assertSame(Device.cpu(), Device.get("cpu"));
    }
}
