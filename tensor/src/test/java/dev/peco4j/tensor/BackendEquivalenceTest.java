package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.testing.Gen;
import dev.peco4j.tensor.testing.Property;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The vector backend against the scalar reference, kernel by kernel, on random shapes with awkward
 * sizes (1, 7, 17, 65, 257) and non-contiguous inputs; and its determinism: bit-identical results
 * with 1, 2 and 3 threads.
 *
 * <p>Tolerances: GEMM-based kernels accumulate in float32 where the reference uses double, so they
 * agree within 1e-5·√K relative to the operands' scale; elementwise maps within 2e-6 relative (the
 * vector exp and erf are approximations of a few ulp); IEEE basic ops and copies exactly.
 */
class BackendEquivalenceTest {
    private static final int[] AWKWARD = {1, 7, 17, 65, 257};
    private static final Backend REF = ScalarBackend.INSTANCE;
    private static final VectorBackend[] VEC = {new VectorBackend(1), new VectorBackend(2), new VectorBackend(3)};

    private static int size(Gen g) {
        return g.chance(0.5) ? AWKWARD[g.intIn(0, AWKWARD.length - 1)] : g.intIn(1, 40);
    }

    /** A float32 tensor of the shape, contiguous or not (transposed, sliced, expanded). */
    private static Tensor f32(Gen g, int... shape) {
        return g.input(shape, new Gen.Values(-2, 2, 0)).value().detach().to(DType.FLOAT32);
    }

    private static void close(Tensor expected, Tensor actual, double rtol, String what) {
        close(expected, actual, rtol, 0, what);
    }

    /** |a − e| ≤ rtol·(|e| + 1e-2·max|e|) + atol, elementwise. */
    private static void close(Tensor expected, Tensor actual, double rtol, double atol, String what) {
        assertEquals(expected.shape(), actual.shape(), what);
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        double scale = 1e-30;
        for (double v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(a[i] - e[i]);
            if (!(err <= rtol * (Math.abs(e[i]) + scale * 1e-2) + atol) && !(Double.isNaN(e[i]) && Double.isNaN(a[i]))) {
                throw new AssertionError(what + ": element " + i + " expected " + e[i] + " got " + a[i] + " (rtol " + rtol + ")");
            }
        }
    }

    /** Runs kernel on every vector backend: close to the reference, and identical across thread counts. */
    private static void check(String what, double rtol, BiFunction<Backend, Integer, Tensor> kernel) {
        check(what, rtol, 0, kernel);
    }

    private static void check(String what, double rtol, double atol, BiFunction<Backend, Integer, Tensor> kernel) {
        Tensor expected = kernel.apply(REF, 0);
        Tensor first = null;
        for (VectorBackend v : VEC) {
            Tensor got = kernel.apply(v, v.par.threads());
            close(expected, got, rtol, atol, what + " (" + v.par.threads() + " threads)");
            if (first == null) first = got;
            else assertArrayEquals(first.toFloatArray(), got.toFloatArray(), what + ": differs between 1 and " + v.par.threads() + " threads");
        }
    }

    @Test
    void gemmAllTransposesAndBatches() {
        Property.check("bmm vector vs scalar", 60, g -> {
            int b = g.intIn(1, 3), n = size(g), k = size(g), m = size(g);
            Tensor a = g.chance(0.5) ? f32(g, b, n, k) : f32(g, b, k, n).transpose(1, 2);
            Tensor c = g.chance(0.5) ? f32(g, b, k, m) : f32(g, b, m, k).transpose(1, 2);
            check("bmm " + a.shape() + " x " + c.shape(), 1e-5 * Math.sqrt(k), (be, t) -> be.bmm(a, c));
        });
    }

    /** argmax/argmin along any dim: the first of equal values, the first NaN, exactly as the reference. */
    @Test
    void argmaxTakesTheFirstExtremeAndNaN() {
        Property.check("argmax vector vs scalar", 60, g -> {
            int[] shape = g.shape(1, 3, 9);
            if (g.chance(0.4)) shape[shape.length - 1] = size(g);
            int dim = g.chance(0.7) ? shape.length - 1 : g.intIn(0, shape.length - 1);
            boolean min = g.chance(0.5);
            Tensor x = Tensor.randint(new Generator(g.intIn(0, 999)), -3, 3, shape).to(DType.FLOAT32); // many equal values
            if (g.chance(0.3)) {
                float[] v = x.toFloatArray();
                for (int k = 0; k < 1 + v.length / 20; k++) {
                    v[g.intIn(0, v.length - 1)] = g.pick(new Float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f});
                }
                x = Tensor.of(v, shape);
            }
            Tensor in = g.chance(0.3) && shape.length > 1 ? x.transpose(0, shape.length - 1).contiguous().transpose(0, shape.length - 1) : x;
            check("argmax " + shape.length + "-d dim " + dim + (min ? " min" : ""), 0, (be, t) -> be.argmax(in, dim, min));
        });
    }

    /**
     * The fused nearest-code search gives the unfused ops' indices bit for bit (the same products and
     * the same three float operations), on 1, 2 and 3 threads: several row bands and code chunks, codes with ties
     * (all equal, through a stride-0 view), NaNs in z and in the codes, and D past one SGEMM K block (the unfused form).
     */
    @Test
    void nearestRowsFusedIsTheUnfusedOps() {
        Property.check("nearestRows fused vs unfused", 40, g -> {
            int n = g.chance(0.3) ? g.intIn(90, 300) : size(g), k = g.chance(0.3) ? g.intIn(1000, 2100) : size(g);
            int d = g.chance(0.2) ? g.intIn(500, 530) : size(g);
            Tensor z = f32(g, n, d), e;
            if (g.chance(0.2)) {
                e = f32(g, 1, d).expand(k, d);                                   // one code k times
            } else if (g.chance(0.3)) {
                Tensor base = f32(g, g.intIn(1, 40), d);                          // a few codes repeated past a chunk
                e = Tensor.cat(java.util.Collections.nCopies(1100 / base.size(0) + 1, base), 0);
                k = e.size(0);
            } else {
                e = f32(g, k, d);
            }
            if (g.chance(0.15)) { // a NaN in a row of z: all its distances NaN
                float[] zf = z.toFloatArray();
                zf[g.intIn(0, zf.length - 1)] = Float.NaN;
                z = Tensor.of(zf, n, d);
            }
            if (g.chance(0.15)) { // a NaN in a code: every row's argmin is that code
                float[] ef = e.toFloatArray();
                ef[g.intIn(0, ef.length - 1)] = Float.NaN;
                e = Tensor.of(ef, k, d);
            }
            Tensor zz = z.square().sum(new int[] {1}, true), ee = e.square().sum(1);
            int[] unfused = zz.add(ee).sub(z.matmul(e.mT()).mul(2.0)).argmin(1, false).toIntArray();
            for (VectorBackend v : VEC) {
                assertArrayEquals(unfused, v.nearestRows(z, e, zz, ee).toIntArray(),
                        "nearestRows " + z.shape() + " x " + e.shape() + " on " + v.par.threads() + " threads");
            }
        });
    }

    @Test
    void sgemmKernelAgainstItsScalarReference() {
        Property.check("sgemm vs reference", 40, g -> {
            int m = size(g), n = size(g), k = size(g);
            float[] a = new float[m * k], b = new float[k * n], c1 = new float[m * n], c2 = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) g.uniform(-1, 1);
            for (int i = 0; i < b.length; i++) b[i] = (float) g.uniform(-1, 1);
            for (int i = 0; i < c1.length; i++) c1[i] = c2[i] = (float) g.uniform(-1, 1);
            boolean acc = g.chance(0.5);
            Sgemm.Mat am = new Sgemm.Mat(a, 0, k, 1), bm = g.chance(0.5) ? new Sgemm.Mat(b, 0, n, 1) : new Sgemm.Mat(b, 0, 1, k);
            Sgemm.reference(m, n, k, am, bm, c1, 0, n, acc);
            Sgemm.gemm(m, n, k, am, bm, c2, 0, n, acc, new Parallel(2));
            for (int i = 0; i < c1.length; i++) {
                assertEquals(c1[i], c2[i], 1e-5 * Math.sqrt(k) * (1 + Math.abs(c1[i])), "element " + i);
            }
        });
    }

    /**
     * A's full strips are read in place when A is a transposed operand (unit stride along its rows) or
     * a row-major one with n ≤ 384, and packed otherwise (here: every other column of a wider array).
     * The same product from the three layouts, partial last strip included, must be bit-identical: the
     * micro-kernels sum the same terms in the same order.
     */
    @Test
    void sgemmSameBitsWhetherAIsReadInPlaceOrPacked() {
        Property.check("sgemm A in place vs packed", 40, g -> {
            int m = size(g), n = g.chance(0.8) ? size(g) : g.intIn(385, 420), k = size(g);
            float[] rowMajor = new float[m * k], transposed = new float[m * k], strided = new float[2 * m * k], b = new float[k * n];
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < k; p++) {
                    rowMajor[i * k + p] = transposed[p * m + i] = strided[2 * (i * k + p)] = (float) g.uniform(-1, 1);
                }
            }
            for (int i = 0; i < b.length; i++) b[i] = (float) g.uniform(-1, 1);
            Sgemm.Mat bm = new Sgemm.Mat(b, 0, n, 1);
            Parallel par = new Parallel(g.intIn(1, 3));
            float[][] c = new float[3][m * n];
            // in place first: the packing buffers then hold the previous case's strips, not this one's
            Sgemm.gemm(m, n, k, new Sgemm.Mat(transposed, 0, 1, m), bm, c[0], 0, n, false, par);
            Sgemm.gemm(m, n, k, new Sgemm.Mat(rowMajor, 0, k, 1), bm, c[1], 0, n, false, par);
            Sgemm.gemm(m, n, k, new Sgemm.Mat(strided, 0, 2 * k, 2), bm, c[2], 0, n, false, par);
            assertArrayEquals(c[2], c[0], "transposed A, " + m + "x" + k + " times " + k + "x" + n);
            assertArrayEquals(c[2], c[1], "row-major A, " + m + "x" + k + " times " + k + "x" + n);
        });
    }

    /**
     * Fewer than MR rows against a row-major B take their own kernel (Sgemm.skinny); its rows must have
     * the bits the tiles give the same rows of a taller A, with K over one block, accumulating or not,
     * with the bias and activation epilogue or without.
     */
    @Test
    void sgemmFewRowsSameBitsAsTiles() {
        Property.check("sgemm few rows vs tiles", 40, g -> {
            int m = g.intIn(1, Sgemm.MR - 1), n = size(g), k = g.chance(0.3) ? g.intIn(Sgemm.KC + 1, 2 * Sgemm.KC + 7) : size(g), tall = m + Sgemm.MR;
            float[] a = new float[tall * k], b = new float[k * n], bias = new float[n];
            for (int i = 0; i < a.length; i++) a[i] = (float) g.uniform(-1, 1);
            for (int i = 0; i < b.length; i++) b[i] = (float) g.uniform(-1, 1);
            for (int i = 0; i < n; i++) bias[i] = (float) g.uniform(-1, 1);
            boolean accumulate = g.chance(0.3), epilogue = g.chance(0.4);
            float[] few = new float[m * n], tiles = new float[tall * n], yFew = new float[m * n], yTiles = new float[tall * n];
            for (int i = 0; i < few.length; i++) few[i] = tiles[i] = (float) g.uniform(-1, 1);
            Parallel par = new Parallel(g.intIn(1, 3));
            Sgemm.gemm(m, n, k, new Sgemm.Mat(a, 0, k, 1), new Sgemm.Mat(b, 0, n, 1), few, 0, n, accumulate, par,
                    epilogue ? new Sgemm.Epilogue(bias, UnaryOps.GELU, yFew) : null);
            Sgemm.gemm(tall, n, k, new Sgemm.Mat(a, 0, k, 1), new Sgemm.Mat(b, 0, n, 1), tiles, 0, n, accumulate, par,
                    epilogue ? new Sgemm.Epilogue(bias, UnaryOps.GELU, yTiles) : null);
            String what = m + "x" + k + " times " + k + "x" + n + (accumulate ? ", accumulating" : "") + (epilogue ? ", bias and GELU" : "");
            assertArrayEquals(java.util.Arrays.copyOf(tiles, m * n), few, what);
            assertArrayEquals(java.util.Arrays.copyOf(yTiles, m * n), yFew, what + " (activation)");
        });
    }

    /**
     * Narrow images share one GEMM (VectorConv.inChunks), chunked by the thread count: each image of a
     * batch must get the bits it gets alone, forward and input gradient, for one output channel (the
     * skinny GEMM) and more.
     */
    @Test
    void convolutionOfABatchHasEachImagesBits() {
        Property.check("conv batch vs each image", 12, g -> {
            int c = g.intIn(1, 6), o = g.pick(new Integer[] {1, 3, 9}), k = g.pick(new Integer[] {1, 3, 4}), stride = g.intIn(1, 2);
            Conv2dParams p = Conv2dParams.of(stride, g.intIn(0, 1), 1, 1);
            int n = g.intIn(2, 12), h = k + g.intIn(0, 8), w = k + g.intIn(0, 8);
            Tensor x = f32(g, n, c, h, w).contiguous(), wt = f32(g, o, c, k, k).contiguous();
            VectorBackend v = VEC[g.intIn(0, VEC.length - 1)];
            Tensor y = v.conv2d(x, wt, p), dy = f32(g, y.shape().dims()).contiguous(), dx = v.conv2dBackwardInput(dy, wt, x.shape(), p);
            for (int i = 0; i < n; i++) {
                Tensor xi = x.slice(0, i, i + 1, 1).contiguous(), dyi = dy.slice(0, i, i + 1, 1).contiguous();
                String what = "image " + i + " of " + x.shape() + " -> " + o + ", " + p + ", " + v.par.threads() + " threads";
                assertArrayEquals(y.slice(0, i, i + 1, 1).contiguous().toFloatArray(), v.conv2d(xi, wt, p).toFloatArray(), what);
                assertArrayEquals(dx.slice(0, i, i + 1, 1).contiguous().toFloatArray(), v.conv2dBackwardInput(dyi, wt, xi.shape(), p).toFloatArray(), what + " (dx)");
            }
        });
    }

    /**
     * copyInto a view (a slice, a transposed or padded interior, as cat, pad and slice's gradient use it)
     * from a source of its shape or one that broadcasts to it, strided or not, and from a view of the
     * same storage: the same bits as the reference, the rest of the storage untouched.
     */
    @Test
    void copyIntoAView() {
        Property.check("copyInto vector vs scalar", 60, g -> {
            int r = g.intIn(2, 5), c = g.intIn(2, 40);
            Tensor base = f32(g, r, c).contiguous();
            int r0 = g.intIn(0, r - 1), r1 = g.intIn(r0 + 1, r), c0 = g.intIn(0, c - 1), c1 = g.intIn(c0 + 1, c);
            boolean transposed = g.chance(0.3) && r1 - r0 == c1 - c0;
            int kind = g.intIn(0, 2);
            java.util.function.Function<Tensor, Tensor> view = t -> {
                Tensor v = t.slice(0, r0, r1, 1).slice(1, c0, c1, 1);
                return transposed ? v.mT() : v;
            };
            Shape vs = view.apply(base).shape();
            Tensor src = switch (kind) {
                case 0 -> f32(g, vs.dims());                         // its own storage, maybe strided
                case 1 -> f32(g, 1, vs.dim(1));                      // a row broadcast over the view
                default -> null;                                     // a view of the destination's own storage
            };
            float[] want = null;
            for (Backend be : new Backend[] {REF, VEC[0], VEC[1], VEC[2]}) {
                Tensor dst = base.copy();
                Tensor from = src != null ? src : dst.slice(0, 0, vs.dim(0), 1).slice(1, 0, vs.dim(1), 1);
                be.copyInto(view.apply(dst), from);
                if (want == null) want = dst.toFloatArray();
                else assertArrayEquals(want, dst.toFloatArray(), be.name() + ", view " + vs + ", source kind " + kind);
            }
        });
    }

    /** The vector exp: within 2 ulp of Math.exp over its range, 0 below −87.34, ∞ above 88.73, NaN kept. */
    @Test
    void vectorExpWithinTwoUlpAndAtItsEdges() {
        int lanes = VectorMath.L;
        float[] x = new float[lanes], y = new float[lanes];
        for (float v = -87.3f; v < 88f; v = Math.nextUp(v + 1e-3f * (1 + Math.abs(v)))) {
            java.util.Arrays.fill(x, v);
            VectorMath.map(UnaryOps.EXP, x, 0, y, 0, lanes);
            float want = (float) Math.exp(v);
            assertTrue(Math.abs(y[0] - want) <= 2 * Math.ulp(want), "exp(" + v + ") = " + y[0] + ", Math.exp " + want);
        }
        float[] edges = {-1e30f, -100f, -87.4f, Float.NEGATIVE_INFINITY, 88.8f, 1e30f, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f};
        float[] want = {0f, 0f, 0f, 0f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 1f, 1f};
        float[] in = new float[Math.max(lanes, edges.length)], out = new float[in.length];
        System.arraycopy(edges, 0, in, 0, edges.length);
        VectorMath.map(UnaryOps.EXP, in, 0, out, 0, in.length);
        for (int i = 0; i < edges.length; i++) assertEquals(want[i], out[i], "exp(" + edges[i] + ")");
    }

    /** GELU's and SiLU's vector derivatives read Φ(x) and σ(x) off y/x: x = 0, tiny x and the tails. */
    @Test
    void geluAndSiluDerivativesAtZeroAndInTheTails() {
        float[] v = {0f, -0f, 1e-30f, -1e-30f, 1e-7f, -3e-4f, 0.5f, -1f, 3f, -5f, -9f, -15f, -40f, -100f, 12f, 50f, 1e4f, -1e4f, 2f, -2f};
        Tensor x = Tensor.of(v, v.length), g = Tensor.of(new float[v.length], v.length).add(1.0).to(DType.FLOAT32);
        for (UnaryOps.Fn fn : new UnaryOps.Fn[] {UnaryOps.GELU, UnaryOps.SILU}) {
            Tensor y = be(x, fn);
            check("mapBackward " + fn.op() + " at special points", 2e-6, 4e-7, (be, t) -> be.mapBackward(fn, x, y, g));
        }
    }

    @Test
    void elementwiseMapsZipsAndCopies() {
        UnaryOps.Fn[] maps = {UnaryOps.NEG, UnaryOps.EXP, UnaryOps.LOG, UnaryOps.SQRT, UnaryOps.RSQRT, UnaryOps.ABS,
            UnaryOps.RELU, UnaryOps.RELU6, UnaryOps.SIGMOID, UnaryOps.TANH, UnaryOps.SILU, UnaryOps.GELU, UnaryOps.SIN,
            UnaryOps.NEG,
            UnaryOps.leakyRelu(0.1), UnaryOps.clamp(-0.5, 1), UnaryOps.powScalar(2), UnaryOps.powScalar(3)};
        Property.check("maps, zips, copies vector vs scalar", 60, g -> {
            int[] s = {size(g), size(g)};
            Tensor x = f32(g, s);
            UnaryOps.Fn fn = maps[g.intIn(0, maps.length - 1)];
            Tensor in = fn.op() == Op.LOG || fn.op() == Op.SQRT || fn.op() == Op.RSQRT ? x.abs().add(0.1) : x;
            check("map " + fn.op(), 2e-6, (be, t) -> be.map(fn, in));
            Tensor y = be(in, fn), gr = f32(g, s);
            // derivatives such as GELU's Φ(x) + x·φ(x) cancel in the tails: float32 keeps ~1e-7 of |g| (≤ 2) absolute there
            check("mapBackward " + fn.op(), 2e-6, 4e-7, (be, t) -> be.mapBackward(fn, in, y, gr));
            BinaryOps.Fn op = g.pick(new BinaryOps.Fn[] {BinaryOps.Fn.ADD, BinaryOps.Fn.SUB, BinaryOps.Fn.MUL, BinaryOps.Fn.DIV,
                BinaryOps.Fn.MINIMUM, BinaryOps.Fn.MAXIMUM});
            Tensor other = switch (g.intIn(0, 2)) {
                case 0 -> f32(g, s);
                case 1 -> f32(g, s[1]);          // a row broadcast over rows (bias)
                default -> f32(g, 1, 1);          // a scalar
            };
            Tensor right = op == BinaryOps.Fn.DIV ? other.abs().add(0.5) : other;
            check("zip " + op, 0, (be, t) -> be.zip(op, x, right, DType.FLOAT32));
            check("copy", 0, (be, t) -> be.copy(x.mT(), DType.FLOAT32));
        });
    }

    /** (N, C, H, W) ∘ (C, 1, 1) or (1, C, 1, 1) and (N, C, L) ∘ (C, 1): one value per channel, as a conv bias. */
    @Test
    void zipWithAChannelBroadcast() {
        Property.check("channel-broadcast zip vector vs scalar", 40, g -> {
            int n = g.intIn(1, 4), c = g.intIn(1, 6), h = g.intIn(1, 9), w = g.intIn(1, 40);
            boolean image = g.chance(0.6);
            Tensor x = image ? f32(g, n, c, h, w) : f32(g, n, c, w);
            Tensor per = image ? (g.chance(0.5) ? f32(g, c, 1, 1) : f32(g, 1, c, 1, 1)) : f32(g, c, 1);
            BinaryOps.Fn op = g.pick(new BinaryOps.Fn[] {BinaryOps.Fn.ADD, BinaryOps.Fn.SUB, BinaryOps.Fn.MUL, BinaryOps.Fn.DIV});
            Tensor right = op == BinaryOps.Fn.DIV ? per.abs().add(0.5) : per;
            check("zip " + op + " " + x.shape() + " " + right.shape(), 0, (be, t) -> be.zip(op, x, right, DType.FLOAT32));
            check("zip " + op + " of a view", 0, (be, t) -> be.zip(op, x.narrow(0, 0, 1), right, DType.FLOAT32));
        });
    }

    private static Tensor be(Tensor x, UnaryOps.Fn fn) {
        return REF.map(fn, x);
    }

    @Test
    void indexSelectCopiesTheChosenSlices() {
        Property.check("index_select vector vs scalar", 40, g -> {
            int[] shape = {size(g), size(g), g.intIn(1, 5)};
            Tensor x = f32(g, shape);
            int dim = g.intIn(0, 2), n = g.intIn(0, 9);
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = g.intIn(0, shape[dim] - 1); // repeats included
            Tensor index = Tensor.ofInts(idx, n);
            check("index_select " + x.shape() + " dim " + dim + " " + java.util.Arrays.toString(idx), 0, (be, t) -> be.indexSelect(x, dim, index));
        });
    }

    @Test
    void reductionsAndSoftmax() {
        Property.check("sum/softmax vector vs scalar", 60, g -> {
            int[] s = {size(g), size(g), g.intIn(1, 5)};
            Tensor x = f32(g, s);
            check("sum last", 1e-5 * Math.sqrt(s[2]), (be, t) -> be.sum(x, new int[] {2}));
            check("sum leading", 1e-5 * Math.sqrt(s[0] * s[1]), (be, t) -> be.sum(x, new int[] {0, 1}));
            check("sum middle", 1e-5 * Math.sqrt(s[1]), (be, t) -> be.sum(x, new int[] {1}));
            check("sum all but the middle", 1e-5 * Math.sqrt(s[0] * s[2]), (be, t) -> be.sum(x, new int[] {0, 2}));
            check("sum all", 1e-5 * Math.sqrt(x.numel()), (be, t) -> be.sum(x, new int[] {0, 1, 2}));
            Tensor x4 = f32(g, s[0], g.intIn(1, 4), s[1], s[2]);
            check("sum (N, C, H, W) over {0, 2, 3}", 1e-5 * Math.sqrt(x4.numel()), (be, t) -> be.sum(x4, new int[] {0, 2, 3}));
            check("sum (N, C, H, W) over {1, 3}", 1e-5 * Math.sqrt(x4.numel()), (be, t) -> be.sum(x4, new int[] {1, 3}));
            check("softmax", 2e-6, (be, t) -> be.softmax(x, 2, false));
            check("log_softmax", 2e-6, (be, t) -> be.softmax(x, 2, true));
            Tensor gy = f32(g, s), y = REF.softmax(x, 2, false), ly = REF.softmax(x, 2, true);
            // g − Σ g·y cancels: float32 error is relative to the size of g (≤ 2 here), not of the result
            check("softmax backward", 1e-5, 1e-6, (be, t) -> be.softmaxBackward(y, gy, 2, false));
            check("log_softmax backward", 1e-5, 1e-6 * s[2], (be, t) -> be.softmaxBackward(ly, gy, 2, true));
        });
    }

    @Test
    void linearWithBiasAndActivationEpilogue() {
        Property.check("linear epilogue vector vs scalar", 40, g -> {
            int m = size(g), k = size(g), n = size(g);
            Tensor x = f32(g, m, k), w = f32(g, n, k), b = g.chance(0.7) ? f32(g, n) : null;
            UnaryOps.Fn act = g.pick(new UnaryOps.Fn[] {null, UnaryOps.GELU, UnaryOps.SILU, UnaryOps.RELU});
            double tol = 2e-5 * Math.sqrt(k);
            check("linear y", tol, 1e-5, (be, t) -> be.linear(x, w, b, act)[0]);
            if (act != null) check("linear z", tol, 1e-5, (be, t) -> be.linear(x, w, b, act)[1]);
        });
    }

    @Test
    void fusedCrossEntropyForwardAndBackward() {
        Property.check("cross_entropy vector vs scalar", 60, g -> {
            int m = size(g), c = size(g);
            Tensor x = f32(g, m, c);
            int[] labels = new int[m];
            int ignore = g.chance(0.5) ? -100 : 0;
            for (int i = 0; i < m; i++) labels[i] = g.chance(0.2) ? ignore : g.intIn(0, c - 1);
            Tensor t = Tensor.ofInts(labels, m);
            double eps = g.chance(0.5) ? 0 : g.uniform(0, 0.3);
            check("cross_entropy loss", 1e-5, 1e-6, (be, th) -> be.crossEntropy(x, t, eps, ignore)[0]);
            check("cross_entropy lse", 1e-6, 1e-6, (be, th) -> be.crossEntropy(x, t, eps, ignore)[1]);
            Tensor lse = REF.crossEntropy(x, t, eps, ignore)[1], gy = f32(g, m).contiguous();
            check("cross_entropy backward", 1e-5, 1e-6, (be, th) -> be.crossEntropyBackward(x, lse, t, gy, eps, ignore));
        });
    }

    @Test
    void groupNormForwardAndBackward() {
        Property.check("group norm vector vs scalar", 40, g -> {
            int groups = g.intIn(1, 4), c = groups * g.intIn(1, 4), n = g.intIn(1, 5), h = g.intIn(1, 17), w = g.intIn(1, 17);
            Tensor base = g.values(new int[] {n, c, h, w}, -2, 2).to(DType.FLOAT32);           // spread rows, as for layer norm
            Tensor x = (g.chance(0.5) ? base : base.permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2)).mul(3.0).add(1.0);
            Tensor dy = f32(g, n, c, h, w), wt = g.chance(0.7) ? f32(g, c) : null, bt = g.chance(0.7) ? f32(g, c) : null;
            check("group norm y", 1e-5, 1e-5, (be, t) -> be.groupNorm(x, wt, bt, groups, 1e-6)[0]);
            check("group norm rstd", 1e-5, (be, t) -> be.groupNorm(x, wt, bt, groups, 1e-6)[2]);
            Tensor[] saved = REF.groupNorm(x, wt, bt, groups, 1e-6);
            check("group norm dx", 1e-5, 1e-5, (be, t) -> be.groupNormBackward(dy, x, wt, bt, saved[1], saved[2], groups)[0]);
            if (wt != null) check("group norm dw", 1e-5 * Math.sqrt(n * h * w), 1e-5, (be, t) -> be.groupNormBackward(dy, x, wt, bt, saved[1], saved[2], groups)[1]);
            if (bt != null) check("group norm db", 1e-5 * Math.sqrt(n * h * w), 1e-5, (be, t) -> be.groupNormBackward(dy, x, wt, bt, saved[1], saved[2], groups)[2]);
        });
    }

    @Test
    void layerNormForwardAndBackward() {
        Property.check("layer norm vector vs scalar", 60, g -> {
            int rows = size(g), d = size(g);
            // rows with real spread: a constant row (var 0) amplifies float32's rounding of the mean by
            // 1/√eps in any float32 implementation; that case is covered by the float64 gradient property
            Tensor base = g.values(new int[] {d, rows}, -2, 2).to(DType.FLOAT32);
            Tensor x = (g.chance(0.5) ? base.mT() : base.mT().contiguous()).mul(3.0).add(1.0), dy = f32(g, rows, d);
            Tensor w = g.chance(0.7) ? f32(g, d) : null, b = w != null && g.chance(0.7) ? f32(g, d) : null;
            check("layer norm y", 1e-5, (be, t) -> be.layerNorm(x, w, b, d, 1e-5)[0]);
            check("layer norm rstd", 1e-5, (be, t) -> be.layerNorm(x, w, b, d, 1e-5)[2]);
            Tensor[] saved = REF.layerNorm(x, w, b, d, 1e-5);
            check("layer norm dx", 1e-5, 1e-5, (be, t) -> be.layerNormBackward(dy, x, w, saved[1], saved[2], d)[0]);
            if (w != null) {
                check("layer norm dw", 1e-5 * Math.sqrt(rows), (be, t) -> be.layerNormBackward(dy, x, w, saved[1], saved[2], d)[1]);
                check("layer norm db", 1e-5 * Math.sqrt(rows), (be, t) -> be.layerNormBackward(dy, x, w, saved[1], saved[2], d)[2]);
            }
        });
    }

    @Test
    void attentionBlockedAgainstTheReference() {
        Property.check("sdpa vector vs scalar", 20, g -> {
            int b = g.intIn(1, 2), h = g.intIn(1, 3), d = g.intIn(1, 40), e = g.intIn(1, 40);
            int n = g.chance(0.3) ? g.pick(new Integer[] {65, 197, 300}) : g.intIn(1, 20);  // > 256: several query blocks
            int m = g.chance(0.3) ? g.pick(new Integer[] {129, 197, 257}) : g.intIn(1, 20);  // > 128: several key blocks
            Tensor q = f32(g, b, h, n, d), k = f32(g, b, h, m, d), v = f32(g, b, h, m, e), dout = f32(g, b, h, n, e);
            int bb = g.chance(0.5) ? 1 : b;
            Tensor bias = g.chance(0.7) ? g.values(new int[] {bb, h, n, m}, -1, 1).to(DType.FLOAT32) : null;
            Tensor mask = null;
            if (g.chance(0.5)) {
                boolean[] keep = new boolean[b * m];
                for (int i = 0; i < keep.length; i++) keep[i] = g.chance(0.7);
                mask = Tensor.ofBools(keep, b, m);   // rows may lose every key: output 0
            }
            Tensor km = mask;
            double scale = 1 / Math.sqrt(d);
            double reach = Math.sqrt(Math.max(d, Math.max(m, n))); // the longest sum: over d, keys, or (dk, dv, the bias) queries
            double tol = 1e-5 * reach, gradAtol = Math.max(1e-5, 1e-6 * reach);
            check("sdpa out", tol, 1e-6, (be, t) -> be.sdpa(q, k, v, bias, km, scale)[0]);
            Tensor[] saved = REF.sdpa(q, k, v, bias, km, scale);
            for (int i = 0; i < 4; i++) {
                int which = i;
                if (which == 3 && bias == null) continue;
                check("sdpa grad " + which, tol, gradAtol,
                        (be, t) -> be.sdpaBackward(dout, q, k, v, bias, km, saved[0], saved[1], scale, true)[which]);
            }
        });
    }

    @Test
    void adamStepAgainstTheReference() {
        Property.check("adam step vector vs scalar", 40, g -> {
            int n = size(g) * g.intIn(1, 3);
            Tensor p0 = f32(g, n).contiguous(), grad = f32(g, n), m0 = f32(g, n).contiguous(), v0 = f32(g, n).abs().contiguous();
            AdamStep st = new AdamStep(g.uniform(1e-4, 1e-1), 0.9, 0.999, 1e-8, g.chance(0.5) ? 0.05 : 0, g.chance(0.5),
                    1 - Math.pow(0.9, 3), 1 - Math.pow(0.999, 3));
            for (int which = 0; which < 3; which++) {
                int w = which;
                check("adam " + (w == 0 ? "p" : w == 1 ? "m" : "v"), 1e-5, 1e-7, (be, t) -> {
                    Tensor p = p0.copy(), m = m0.copy(), v = v0.copy();
                    be.adamStep(p, grad, m, v, st);
                    return w == 0 ? p : w == 1 ? m : v;
                });
            }
        });
    }

    /**
     * The convolutions that run without im2col (DirectConv), in all three directions: 3×3 same ones of
     * up to 64 input channels, other stride-1 kernels (non-square, padding 0 … K−1) within its
     * channels × taps bound, and any width of input into 1–4 output channels.
     */
    @Test
    void directConvolution() {
        Property.check("direct conv vs scalar", 40, g -> {
            int kind = g.intIn(0, 2), kh = kind == 0 ? 3 : g.intIn(1, 5), kw = kind == 0 ? 3 : g.intIn(kh == 1 ? 2 : 1, 5);
            int c = kind == 2 ? g.intIn(65, 150) : g.intIn(1, DirectConv.MAX_ROWS / (kh * kw)), o = kind == 2 ? g.intIn(1, DirectConv.NARROW_OUT) : g.intIn(1, 11);
            int ph = kind == 0 ? 1 : g.intIn(0, kh - 1), pw = kind == 0 ? 1 : g.intIn(0, kw - 1);
            int h = Math.max(1, kh - 2 * ph) + g.intIn(0, kind == 2 ? 6 : 18), w = Math.max(1, kw - 2 * pw) + g.intIn(0, kind == 2 ? 10 : 38), n = g.intIn(1, 4);
            Conv2dParams p = new Conv2dParams(1, 1, ph, pw, 1, 1, 1, 0, 0);
            Tensor x = f32(g, n, c, h, w), wt = f32(g, o, c, kh, kw), dy = f32(g, REF.conv2d(x, wt, p).shape().dims());
            assertTrue(DirectConv.applies(x.shape(), wt.shape(), p), x.shape() + " " + wt.shape() + " " + p);
            double tol = 1e-5 * Math.sqrt(c * kh * kw * 4);
            String what = x.shape() + " * " + wt.shape() + ", pad " + ph + "x" + pw;
            check("direct conv2d " + what, tol, 1e-6, (be, t) -> be.conv2d(x, wt, p));
            check("direct conv2d dx " + what, tol, 1e-6, (be, t) -> be.conv2dBackwardInput(dy, wt, x.shape(), p));
            check("direct conv2d dw " + what, 1e-5 * Math.sqrt(dy.numel()), 1e-5, (be, t) -> be.conv2dBackwardWeight(dy, x, wt.shape(), p));
        });
    }

    /**
     * Depthwise convolutions (DepthwiseConv: groups = C, M outputs per channel), all three directions:
     * any kernel up to 5×5, stride 1–3, padding up to K − 1, dilation 1–2, rows shorter and longer
     * than a vector (their partial last vector), MobileNetV2's 3×3 stride 1 and 2 among them.
     */
    @Test
    void depthwiseConvolution() {
        Property.check("depthwise conv vs scalar", 40, g -> {
            int c = g.intIn(2, 9), mult = g.intIn(1, 3), kh = g.intIn(1, 5), kw = g.intIn(1, 5), dil = g.intIn(1, 2);
            int stride = g.intIn(1, 3), ph = g.intIn(0, kh - 1), pw = g.intIn(0, kw - 1);
            int h = Math.max(1, (kh - 1) * dil + 1 - 2 * ph) + g.intIn(0, 12), w = Math.max(1, (kw - 1) * dil + 1 - 2 * pw) + g.intIn(0, 45);
            Conv2dParams p = new Conv2dParams(stride, g.chance(0.5) ? stride : 1, ph, pw, dil, dil, c, 0, 0);
            Tensor x = f32(g, g.intIn(1, 3), c, h, w), wt = f32(g, c * mult, 1, kh, kw), dy = f32(g, REF.conv2d(x, wt, p).shape().dims());
            assertTrue(DepthwiseConv.applies(x.shape(), p), x.shape() + " " + p);
            double tol = 1e-5 * Math.sqrt(kh * kw * 4);
            String what = x.shape() + " * " + wt.shape() + ", " + p;
            check("depthwise conv2d " + what, tol, 1e-6, (be, t) -> be.conv2d(x, wt, p));
            check("depthwise conv2d dx " + what, tol * Math.sqrt(mult), 1e-6, (be, t) -> be.conv2dBackwardInput(dy, wt, x.shape(), p));
            check("depthwise conv2d dw " + what, 1e-5 * Math.sqrt(dy.numel()), 1e-5, (be, t) -> be.conv2dBackwardWeight(dy, x, wt.shape(), p));
        });
    }

    /**
     * The depthwise weight gradient reads a row's last vector whole, past the tap's run into pixels
     * that tap never meets: an infinite last column must reach only the taps that meet it. With
     * 20 columns and a 3-wide kernel the 18 outputs of a row end in a partial vector for 8 or 16 lanes.
     */
    @Test
    void depthwiseWeightGradientLeavesOutPixelsPastTheRun() {
        Generator gen = new Generator(11);
        float[] xs = Tensor.randn(gen, 2, 3, 6, 20).toFloatArray();
        for (int r = 0; r < 2 * 3 * 6; r++) xs[r * 20 + 19] = Float.POSITIVE_INFINITY;
        Tensor x = Tensor.of(xs, 2, 3, 6, 20), dy = Tensor.randn(gen, 2, 3, 4, 18);
        Conv2dParams p = Conv2dParams.of(1, 0, 1, 3);
        Shape ws = Shape.of(3, 1, 3, 3);
        float[] expected = REF.conv2dBackwardWeight(dy, x, ws, p).toFloatArray();
        for (VectorBackend v : VEC) {
            float[] got = v.conv2dBackwardWeight(dy, x, ws, p).toFloatArray();
            for (int c = 0; c < 3; c++) {
                for (int a = 0; a < 3; a++) {
                    for (int b = 0; b < 2; b++) {                              // taps (a, 0) and (a, 1) never read column 19
                        int i = (c * 3 + a) * 3 + b;
                        assertEquals(expected[i], got[i], 1e-4 * (1 + Math.abs(expected[i])), "dw " + i + " (" + v.par.threads() + " threads)");
                    }
                }
            }
        }
    }

    /** addInto (autograd's in-place sum of a second gradient): dst += src exactly as zip's ADD, for a strided src too. */
    @Test
    void addIntoIsZipAddInPlace() {
        Property.check("addInto vs zip add", 30, g -> {
            int n = size(g), m = size(g);
            Tensor dst0 = f32(g, n, m).contiguous(), src = f32(g, n, m);
            Tensor expected = REF.zip(BinaryOps.Fn.ADD, dst0, src, DType.FLOAT32);
            check("addInto " + src.shape(), 0, (be, t) -> {
                Tensor dst = Tensor.of(dst0.toFloatArray(), n, m);
                be.addInto(dst, src);
                return dst;
            });
            Tensor dst = Tensor.of(dst0.toFloatArray(), n, m);
            VEC[1].addInto(dst, src);
            assertArrayEquals(expected.toFloatArray(), dst.toFloatArray(), "addInto is not zip's ADD");
        });
    }

    /** Batches of bigger images, whose weight gradient runs as several image chunks side by side (VectorConv.backwardWeight). */
    @Test
    void convolutionWeightGradientOverImageChunks() {
        Property.check("conv dw chunks vs scalar", 6, g -> {
            int groups = g.intIn(1, 2), cg = g.intIn(1, 5), og = g.intIn(1, 9), k = g.pick(new Integer[] {1, 3}), size = g.intIn(24, 40);
            Conv2dParams p = Conv2dParams.of(1, k / 2, 1, groups);              // P >= 576: chunks of 2 images, 3 to 7 of them
            Tensor x = f32(g, g.intIn(5, 13), groups * cg, size, size), wt = f32(g, groups * og, cg, k, k);
            Tensor dy = f32(g, REF.conv2d(x, wt, p).shape().dims());
            check("conv2d dw " + p + " on " + x.shape(), 1e-5 * Math.sqrt(dy.numel()), (be, t) -> be.conv2dBackwardWeight(dy, x, wt.shape(), p));
        });
    }

    @Test
    void convolutionForwardAndBothBackwards() {
        Property.check("conv vector vs scalar", 40, g -> {
            int groups = g.intIn(1, 3), cg = g.intIn(1, 4), og = g.intIn(1, 4), k = g.pick(new Integer[] {1, 3, 5});
            int stride = g.intIn(1, 2), pad = g.intIn(0, k / 2), dil = g.intIn(1, 2);
            int h = (k - 1) * dil + 1 + g.intIn(0, 9), w = (k - 1) * dil + 1 + g.intIn(0, 9);
            Conv2dParams p = Conv2dParams.of(stride, pad, dil, groups);
            Tensor x = f32(g, g.intIn(1, 4), groups * cg, h, w), wt = f32(g, groups * og, cg, k, k);
            Tensor y = REF.conv2d(x, wt, p), dy = f32(g, y.shape().dims());
            double tol = 1e-5 * Math.sqrt(cg * k * k * 4);
            check("conv2d " + p, tol, (be, t) -> be.conv2d(x, wt, p));
            check("conv2d dx " + p, tol, (be, t) -> be.conv2dBackwardInput(dy, wt, x.shape(), p));
            check("conv2d dw " + p, 1e-5 * Math.sqrt(y.numel()), (be, t) -> be.conv2dBackwardWeight(dy, x, wt.shape(), p));
        });
    }

    @Test
    void wholeModelStepIsBitIdenticalAcrossThreadCounts() {
        // a small MLP's gradients through Functional ops on each backend instance (not the global one)
        Generator gen = new Generator(3);
        Tensor x = Tensor.randn(gen, 33, 65), w1 = Tensor.randn(gen, 257, 65), w2 = Tensor.randn(gen, 7, 257);
        float[] first = null;
        for (VectorBackend v : VEC) {
            Tensor h = v.map(UnaryOps.GELU, v.bmm(x.unsqueeze(0), w1.mT().unsqueeze(0)));
            Tensor out = v.softmax(v.bmm(h, w2.mT().unsqueeze(0)), 2, true);
            float[] got = out.toFloatArray();
            if (first == null) first = got;
            else assertArrayEquals(first, got, "threads " + v.par.threads());
        }
        assertEquals(List.of(1, 2, 3), java.util.Arrays.stream(VEC).map(v -> v.par.threads()).toList());
    }
}
