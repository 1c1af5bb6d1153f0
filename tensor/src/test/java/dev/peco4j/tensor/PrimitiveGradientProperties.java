package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.testing.Gen;
import dev.peco4j.tensor.testing.Gen.Input;
import dev.peco4j.tensor.testing.Gen.Values;
import dev.peco4j.tensor.testing.Property;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * One float64 gradient property per primitive: random shapes (size-1 dims included), broadcasting
 * pairs, inputs in non-contiguous layouts (permuted, sliced with a step, expanded) and random values
 * kept away from kinks. Each case runs {@link GradCheck} and asserts that the primitive really is in
 * the checked graph. {@link PrimitiveCoverageTest} fails when a primitive is missing here.
 */
final class PrimitiveGradientProperties {
    /** Cases per primitive (the acceptance floor is 50). */
    static final int CASES = 50;

    static final Map<Op, Consumer<Gen>> PROPERTIES = new EnumMap<>(Op.class);

    private PrimitiveGradientProperties() {}

    /** Gradient-checks f at the leaves and asserts op is among the graph's nodes. */
    static void check(Gen g, Op op, GradCheck.Options opt, Function<Tensor[], Tensor> f, Tensor... leaves) {
        GradCheck.Report r = GradCheck.check(op.opName(), f, opt, leaves);
        assertTrue(r.ops().contains(op.opName()),
                "the property for '" + op.opName() + "' never ran it: the graph held only " + r.ops());
    }

    static void check(Gen g, Op op, Function<Tensor[], Tensor> f, Tensor... leaves) {
        check(g, op, GradCheck.Options.defaults(g.seed()), f, leaves);
    }

    private static void unary(Op op, Values v, UnaryOperator<Tensor> f) {
        PROPERTIES.put(op, g -> {
            Input a = g.input(g.shape(0, 4, 4), v);
            check(g, op, xs -> f.apply(a.view(xs[0])), a.leaf());
        });
    }

    private static void binary(Op op, Values va, Values vb, java.util.function.BinaryOperator<Tensor> f) {
        PROPERTIES.put(op, g -> {
            int[][] s = g.broadcastPair(0, 4, 4);
            Input a = g.input(s[0], va), b = g.input(s[1], vb);
            check(g, op, xs -> f.apply(a.view(xs[0]), b.view(xs[1])), a.leaf(), b.leaf());
        });
    }

    /** A reduction over a random subset of dims (none = all), keepdim random. */
    private interface Reduction {
        Tensor apply(Tensor x, int[] dims, boolean keepdim);
    }

    private static void reduction(Op op, Reduction f) {
        PROPERTIES.put(op, g -> {
            int[] s = g.shape(0, 4, 4);
            int[] dims = someDims(g, s.length);
            boolean keep = g.chance(0.5);
            Input a = g.input(s);
            check(g, op, xs -> f.apply(a.view(xs[0]), dims, keep), a.leaf());
        });
    }

    /** An op along one random dim (negative half the time). */
    private static void alongDim(Op op, java.util.function.BiFunction<Tensor, Integer, Tensor> f) {
        PROPERTIES.put(op, g -> {
            int[] s = g.shape(1, 4, 5);
            int dim = g.intIn(-s.length, s.length - 1);
            Input a = g.input(s, new Values(-3, 3, 0));
            check(g, op, xs -> f.apply(a.view(xs[0]), dim), a.leaf());
        });
    }

    private static Values kinks(double lo, double hi, double... at) {
        return new Values(lo, hi, 0.01, at);
    }

    /** A random subset of the dims of a rank-r shape (possibly empty = all dims). */
    private static int[] someDims(Gen g, int r) {
        return java.util.stream.IntStream.range(0, r).filter(d -> g.chance(0.5)).map(d -> g.chance(0.3) ? d - r : d).toArray();
    }

    static {
        Values d = Values.DEFAULT;
        unary(Op.NEG, d, Tensor::neg);
        unary(Op.EXP, d, Tensor::exp);
        unary(Op.LOG, new Values(0.1, 3, 0), Tensor::log);
        unary(Op.SQRT, new Values(0.1, 3, 0), Tensor::sqrt);
        unary(Op.RSQRT, new Values(0.1, 3, 0), Tensor::rsqrt);
        unary(Op.ABS, kinks(-2, 2, 0), Tensor::abs);
        unary(Op.SIGN, kinks(-2, 2, 0), Tensor::sign);
        unary(Op.SIN, new Values(-4, 4, 0), Tensor::sin);
        unary(Op.COS, new Values(-4, 4, 0), Tensor::cos);
        unary(Op.TANH, d, Tensor::tanh);
        unary(Op.SIGMOID, new Values(-6, 6, 0), Tensor::sigmoid);
        unary(Op.RELU, kinks(-2, 2, 0), Tensor::relu);
        unary(Op.RELU6, kinks(-2, 8, 0, 6), Tensor::relu6);
        unary(Op.GELU, new Values(-4, 4, 0), Tensor::gelu);
        unary(Op.SILU, new Values(-6, 6, 0), Tensor::silu);
        unary(Op.CLAMP, kinks(-2, 2, -0.5, 1), x -> x.clamp(-0.5, 1));
        PROPERTIES.put(Op.LEAKY_RELU, g -> {
            double slope = g.uniform(0.01, 0.5);
            Input a = g.input(g.shape(0, 4, 4), kinks(-2, 2, 0));
            check(g, Op.LEAKY_RELU, xs -> a.view(xs[0]).leakyRelu(slope), a.leaf());
        });
        PROPERTIES.put(Op.POW_SCALAR, g -> {
            double p = g.pick(new Double[] {-1.5, -1.0, 0.0, 0.5, 2.0, 3.0, 2.7});
            Input a = g.input(g.shape(0, 4, 4), new Values(0.2, 3, 0));
            check(g, Op.POW_SCALAR, xs -> a.view(xs[0]).pow(p), a.leaf());
        });

        binary(Op.ADD, d, d, Tensor::add);
        binary(Op.SUB, d, d, Tensor::sub);
        binary(Op.MUL, d, d, Tensor::mul);
        PROPERTIES.put(Op.DIV, g -> {
            int[][] s = g.broadcastPair(0, 4, 4);
            Input a = g.input(s[0]), b = g.input(s[1], new Values(-2, 2, 0.3, 0));
            check(g, Op.DIV, xs -> a.view(xs[0]).div(b.view(xs[1])), a.leaf(), b.leaf());
        });
        binary(Op.POW, new Values(0.2, 2, 0), d, Tensor::pow);
        binary(Op.MINIMUM, d, d, Tensor::minimum);
        binary(Op.MAXIMUM, d, d, Tensor::maximum);
        PROPERTIES.put(Op.WHERE, g -> {
            int[][] s = g.broadcastPair(0, 4, 4);
            int[] out = Shape.broadcast(Shape.of(s[0]), Shape.of(s[1]), "where").dims();
            for (int i = 0; i < out.length; i++) if (g.chance(0.3)) out[i] = 1;
            Tensor cond = g.values(out, -1, 1).gt(0.0);
            Input a = g.input(s[0]), b = g.input(s[1]);
            check(g, Op.WHERE, xs -> Tensor.where(cond, a.view(xs[0]), b.view(xs[1])), a.leaf(), b.leaf());
        });
        // float64 → float32 → float64 rounds to ~6e-8, so this one check needs a larger step: eps 1e-3
        // keeps the rounding error of the difference quotient below 1e-4 (the function is linear).
        PROPERTIES.put(Op.CAST, g -> {
            Input a = g.input(g.shape(0, 4, 4));
            GradCheck.Options opt = new GradCheck.Options(1e-3, 1e-3, 1e-3, g.seed(), GradCheck.Mode.FULL, 0);
            check(g, Op.CAST, opt, xs -> a.view(xs[0]).to(DType.FLOAT32).mul(Tensor.scalar(1.5, DType.FLOAT32))
                    .to(DType.FLOAT64), a.leaf());
        });

        reduction(Op.SUM, (x, dims, keep) -> x.sum(dims, keep));
        reduction(Op.AMAX, (x, dims, keep) -> x.amax(dims, keep));
        alongDim(Op.SOFTMAX, Tensor::softmax);
        alongDim(Op.LOG_SOFTMAX, Tensor::logSoftmax);

        PROPERTIES.put(Op.RESHAPE, g -> {
            int[] s = g.shape(1, 4, 4);
            int[] to = s.clone();
            for (int i = 0; i < to.length / 2; i++) {
                int t = to[i];
                to[i] = to[to.length - 1 - i];
                to[to.length - 1 - i] = t;
            }
            // a leading 1 makes the target's rank differ from s, so a node is always recorded
            int[] target = prepend(1, to);
            if (g.chance(0.3)) target[g.intIn(0, target.length - 1)] = -1;
            Input a = g.input(s);
            check(g, Op.RESHAPE, xs -> a.view(xs[0]).reshape(target).mul(2.0).reshape(s), a.leaf());
        });
        PROPERTIES.put(Op.PERMUTE, g -> {
            int[] s = g.shape(2, 4, 4);
            int[] perm = shuffled(g, s.length);
            Input a = g.input(s);
            check(g, Op.PERMUTE, xs -> a.view(xs[0]).permute(perm).exp(), a.leaf());
        });
        PROPERTIES.put(Op.EXPAND, g -> {
            int[] target = g.shape(1, 4, 4);
            int drop = g.intIn(0, target.length - 1);
            int[] small = Arrays.copyOfRange(target, drop, target.length);
            for (int i = 0; i < small.length; i++) if (g.chance(0.5)) small[i] = 1;
            int grown = g.intIn(drop, target.length - 1); // at least one dim really grows
            target[grown] = Math.max(2, target[grown]);
            small[grown - drop] = 1;
            Tensor leaf = g.values(small, -2, 2).requiresGrad(true);
            check(g, Op.EXPAND, xs -> xs[0].expand(target).add(1.0).exp(), leaf);
        });
        PROPERTIES.put(Op.SLICE, g -> {
            int[] s = g.shape(1, 4, 6);
            int dim = g.intIn(0, s.length - 1);
            int start = g.intIn(-s[dim], s[dim]), end = g.intIn(-s[dim], s[dim] + 1), step = g.intIn(1, 3);
            Input a = g.input(s);
            // the output may be empty; compose with an op that keeps a non-empty graph output
            check(g, Op.SLICE, xs -> {
                Tensor x = a.view(xs[0]);
                return Tensor.cat(List.of(x.slice(dim, start, end, step).exp(), x.mul(0.5)), dim);
            }, a.leaf());
        });
        PROPERTIES.put(Op.FLIP, g -> {
            int[] s = g.shape(1, 4, 4);
            int[] dims = someDims(g, s.length);
            Input a = g.input(s);
            check(g, Op.FLIP, xs -> a.view(xs[0]).flip(dims).exp(), a.leaf());
        });
        PROPERTIES.put(Op.PAD, g -> {
            int[] s = g.shape(1, 4, 5);
            int pairs = g.intIn(1, Math.min(2, s.length));
            int[] pads = new int[2 * pairs];
            for (int k = 0; k < pads.length; k++) {
                int size = s[s.length - 1 - k / 2];
                pads[k] = g.intIn(-(size - 1) / 2, 2);
            }
            double value = g.uniform(-1, 1);
            Input a = g.input(s);
            check(g, Op.PAD, xs -> a.view(xs[0]).pad(pads, value).exp(), a.leaf());
        });
        PROPERTIES.put(Op.COPY, g -> {
            Input a = g.input(g.shape(0, 4, 4));
            check(g, Op.COPY, xs -> a.view(xs[0]).copy().sin(), a.leaf());
        });
        PROPERTIES.put(Op.CAT, g -> {
            int[] s = g.shape(1, 4, 4);
            int dim = g.intIn(0, s.length - 1);
            int n = g.intIn(1, 3);
            Input[] in = new Input[n];
            Tensor[] leaves = new Tensor[n];
            for (int k = 0; k < n; k++) {
                int[] sk = s.clone();
                sk[dim] = g.intIn(1, 3);
                in[k] = g.input(sk);
                leaves[k] = in[k].leaf();
            }
            check(g, Op.CAT, xs -> {
                Tensor[] parts = new Tensor[n];
                for (int k = 0; k < n; k++) parts[k] = in[k].view(xs[k]);
                return Tensor.cat(List.of(parts), dim).tanh();
            }, leaves);
        });

        PROPERTIES.put(Op.MATMUL, g -> {
            int n = g.intIn(1, 4), k = g.intIn(1, 4), m = g.intIn(1, 4);
            int[][] shapes = switch (g.intIn(0, 5)) {
                case 0 -> new int[][] {{k}, {k}};
                case 1 -> new int[][] {{k}, {k, m}};
                case 2 -> new int[][] {{n, k}, {k}};
                case 3 -> new int[][] {{n, k}, {k, m}};
                case 4 -> new int[][] {{g.intIn(1, 3), n, k}, {k, m}};
                default -> new int[][] {{g.intIn(1, 2), 1, n, k}, {g.chance(0.5) ? 1 : 3, k, m}};
            };
            if (shapes[1].length == 3 && shapes[0].length == 4) shapes[0][1] = shapes[1][0] == 1 ? 2 : shapes[1][0];
            g.note("matmul " + Arrays.toString(shapes[0]) + " x " + Arrays.toString(shapes[1]));
            Input a = g.input(shapes[0]), b = g.input(shapes[1]);
            check(g, Op.MATMUL, xs -> a.view(xs[0]).matmul(b.view(xs[1])), a.leaf(), b.leaf());
        });

        PROPERTIES.put(Op.LINEAR, g -> {
            int[] lead = g.shape(1, 3, 4);
            int k = g.intIn(1, 5), n = g.intIn(1, 5);
            int[] xs0 = java.util.Arrays.copyOf(lead, lead.length + 1);
            xs0[lead.length] = k;
            Input x = g.input(xs0), w = g.input(new int[] {n, k});
            boolean withBias = g.chance(0.7);
            Tensor b = g.values(new int[] {n}, -1, 1).requiresGrad(true);
            Activation act = g.pick(new Activation[] {Activation.IDENTITY, Activation.GELU, Activation.SILU}); // ReLU: its kink defeats finite differences
            g.note("linear " + java.util.Arrays.toString(xs0) + " -> " + n + ", " + act + (withBias ? ", bias" : ""));
            check(g, Op.LINEAR, GradCheck.Options.defaults(g.seed()),
                    xs -> Functional.linear(x.view(xs[0]), w.view(xs[1]), withBias ? xs[2] : null, act),
                    x.leaf(), w.leaf(), withBias ? b : b.detach());
        });
        PROPERTIES.put(Op.LAYER_NORM, g -> {
            int[] s = g.shape(1, 4, 5);
            int k = g.intIn(1, s.length);
            int[] trailing = Arrays.copyOfRange(s, s.length - k, s.length);
            boolean affineW = g.chance(0.7), affineB = g.chance(0.7);
            Input x = g.input(s);
            Tensor w = g.values(trailing, 0.5, 1.5).requiresGrad(true), b = g.values(trailing, -1, 1).requiresGrad(true);
            double eps = g.pick(new Double[] {1e-5, 1e-3, 0.1});
            check(g, Op.LAYER_NORM, xs -> Functional.layerNorm(x.view(xs[0]), k, affineW ? xs[1] : null, affineB ? xs[2] : null, eps),
                    x.leaf(), affineW ? w : w.detach(), affineB ? b : b.detach());
        });
        PROPERTIES.put(Op.GROUP_NORM, g -> {
            int groups = g.intIn(1, 3), c = groups * g.intIn(1, 3);
            int[] spatial = g.shape(0, 2, 4);
            int[] s = new int[2 + spatial.length];
            s[0] = g.intIn(1, 2);
            s[1] = c;
            System.arraycopy(spatial, 0, s, 2, spatial.length);
            boolean affineW = g.chance(0.7), affineB = g.chance(0.7);
            Input x = g.input(s);
            Tensor w = g.values(new int[] {c}, 0.5, 1.5).requiresGrad(true), b = g.values(new int[] {c}, -1, 1).requiresGrad(true);
            double eps = g.pick(new Double[] {1e-6, 1e-3, 0.1});
            g.note("group_norm " + Arrays.toString(s) + ", " + groups + " groups");
            check(g, Op.GROUP_NORM, xs -> Functional.groupNorm(x.view(xs[0]), groups, affineW ? xs[1] : null, affineB ? xs[2] : null, eps),
                    x.leaf(), affineW ? w : w.detach(), affineB ? b : b.detach());
        });
        PROPERTIES.put(Op.SDPA, g -> {
            int b = g.intIn(1, 2), h = g.intIn(1, 3), n = g.intIn(1, 4), m = g.intIn(1, 5), dk = g.intIn(1, 3), e = g.intIn(1, 3);
            Input q = g.input(new int[] {b, h, n, dk}), k = g.input(new int[] {b, h, m, dk}), v = g.input(new int[] {b, h, m, e});
            int[][] biasShapes = {null, {n, m}, {h, n, m}, {1, h, n, m}, {b, h, n, m}};
            int[] bs = biasShapes[g.intIn(0, biasShapes.length - 1)];
            Tensor bias = bs == null ? null : g.values(bs, -1, 1).requiresGrad(true);
            Tensor mask = null;
            if (g.chance(0.4)) {
                boolean[] keep = new boolean[b * m];
                for (int i = 0; i < keep.length; i++) keep[i] = i % m == 0 || g.chance(0.6); // a key per row stays
                mask = Tensor.ofBools(keep, b, m);
            }
            double scale = g.uniform(0.2, 1.5);
            Tensor keyMask = mask;
            Tensor[] leaves = bias == null ? new Tensor[] {q.leaf(), k.leaf(), v.leaf()} : new Tensor[] {q.leaf(), k.leaf(), v.leaf(), bias};
            check(g, Op.SDPA, xs -> Functional.scaledDotProductAttention(q.view(xs[0]), k.view(xs[1]), v.view(xs[2]),
                    xs.length > 3 ? xs[3] : null, keyMask, scale), leaves);
        });
        PROPERTIES.put(Op.CROSS_ENTROPY, g -> {
            int[] s = g.shape(2, 3, 4);                                   // (N, C, d…)
            int c = s[1];
            int[] ts = new int[s.length - 1];
            ts[0] = s[0];
            for (int i = 2; i < s.length; i++) ts[i - 1] = s[i];
            int ignore = c == 1 ? -100 : g.pick(new Integer[] {-100, 0});
            int[] t = g.ints(ts, 0, c - 1).toIntArray();
            for (int i = 0; i < t.length; i++) if (i > 0 && g.chance(0.2)) t[i] = ignore;
            if (t[0] == ignore) t[0] = c - 1;                              // at least one row counts
            Tensor target = Tensor.ofInts(t, ts);
            double eps = g.chance(0.5) ? 0 : g.uniform(0, 0.4);
            LossOps.Reduction red = g.pick(LossOps.Reduction.values());
            Input x = g.input(s);
            check(g, Op.CROSS_ENTROPY, xs -> {
                Tensor l = Functional.crossEntropy(x.view(xs[0]), target, eps, ignore, red);
                return red == LossOps.Reduction.NONE ? l.mul(Tensor.arange(DType.FLOAT64, 1, 1 + l.numel(), 1).reshape(l.shape().dims())) : l;
            }, x.leaf());
        });
        PROPERTIES.put(Op.GATHER, g -> {
            int[] s = g.shape(1, 3, 4);
            int dim = g.intIn(0, s.length - 1);
            int[] is = s.clone();
            for (int i = 0; i < is.length; i++) is[i] = i == dim ? g.intIn(1, 5) : g.intIn(1, s[i]);
            Tensor index = g.ints(is, 0, s[dim] - 1);
            Input a = g.input(s);
            check(g, Op.GATHER, xs -> a.view(xs[0]).gather(dim, index), a.leaf());
        });
        PROPERTIES.put(Op.INDEX_SELECT, g -> {
            int[] s = g.shape(1, 3, 4);
            int dim = g.intIn(0, s.length - 1);
            Tensor index = g.ints(new int[] {g.intIn(1, 5)}, 0, s[dim] - 1);
            Input a = g.input(s);
            check(g, Op.INDEX_SELECT, xs -> a.view(xs[0]).indexSelect(dim, index), a.leaf());
        });
        PROPERTIES.put(Op.SCATTER_ADD, g -> {
            int[] s = g.shape(1, 3, 4);
            int dim = g.intIn(0, s.length - 1);
            int[] src = s.clone();
            src[dim] = g.intIn(1, 5);
            int[] is = src.clone();
            for (int i = 0; i < is.length; i++) is[i] = g.intIn(1, src[i]);
            Tensor index = g.ints(is, 0, s[dim] - 1);
            Input self = g.input(s), in = g.input(src);
            check(g, Op.SCATTER_ADD, xs -> self.view(xs[0]).scatterAdd(dim, index, in.view(xs[1])).square(),
                    self.leaf(), in.leaf());
        });
        PROPERTIES.put(Op.INDEX_ADD, g -> {
            int[] s = g.shape(1, 3, 4);
            int dim = g.intIn(0, s.length - 1);
            Tensor index = g.ints(new int[] {g.intIn(1, 5)}, 0, s[dim] - 1);
            int[] src = s.clone();
            src[dim] = index.numel();
            Input self = g.input(s), in = g.input(src);
            check(g, Op.INDEX_ADD, xs -> self.view(xs[0]).indexAdd(dim, index, in.view(xs[1])).square(),
                    self.leaf(), in.leaf());
        });

        PROPERTIES.put(Op.CONV2D, g -> {
            int groups = g.intIn(1, 2), cg = g.intIn(1, 2), og = g.intIn(1, 2);
            int k = g.intIn(1, 3), stride = g.intIn(1, 2), pad = g.intIn(0, 1), dil = g.intIn(1, 2);
            int kw = g.intIn(1, 2);
            int h = (k - 1) * dil + 1 + g.intIn(0, 3), w = kw + g.intIn(0, 3);
            Conv2dParams p = new Conv2dParams(stride, g.intIn(1, 2), pad, g.intIn(0, 1), dil, 1, groups, 0, 0);
            Input x = g.input(new int[] {g.intIn(1, 2), groups * cg, h, w});
            Input wt = g.input(new int[] {groups * og, cg, k, kw});
            g.note(p.toString());
            check(g, Op.CONV2D, xs -> Functional.conv2d(x.view(xs[0]), wt.view(xs[1]), null, p), x.leaf(), wt.leaf());
        });
        PROPERTIES.put(Op.CONV_TRANSPOSE2D, g -> {
            int groups = g.intIn(1, 2), cg = g.intIn(1, 2), og = g.intIn(1, 2);
            int k = g.intIn(1, 3), stride = g.intIn(1, 2), pad = g.intIn(0, 1), dil = g.intIn(1, 2);
            int outPad = g.intIn(0, Math.max(stride, dil) - 1);
            Conv2dParams p = new Conv2dParams(stride, stride, pad, 0, dil, dil, groups, outPad, 0);
            Input x = g.input(new int[] {g.intIn(1, 2), groups * cg, g.intIn(2, 4), g.intIn(1, 3)});
            Input wt = g.input(new int[] {groups * cg, og, k, k});
            g.note(p.toString());
            check(g, Op.CONV_TRANSPOSE2D, xs -> Functional.convTranspose2d(x.view(xs[0]), wt.view(xs[1]), null, p),
                    x.leaf(), wt.leaf());
        });
        PROPERTIES.put(Op.AVG_POOL2D, g -> {
            int k = g.intIn(1, 3);
            Pool2dParams p = Pool2dParams.of(k, g.intIn(1, 2), g.intIn(0, k / 2))
                    .withCeilMode(g.chance(0.5)).withCountIncludePad(g.chance(0.5));
            Input x = g.input(new int[] {g.intIn(1, 2), g.intIn(1, 2), k + g.intIn(0, 3), k + g.intIn(0, 3)});
            g.note(p.toString());
            check(g, Op.AVG_POOL2D, xs -> Functional.avgPool2d(x.view(xs[0]), p), x.leaf());
        });
        PROPERTIES.put(Op.MAX_POOL2D, g -> {
            int k = g.intIn(1, 3), dil = g.intIn(1, 2);
            Pool2dParams p = Pool2dParams.of(k, g.intIn(1, 2), g.intIn(0, k / 2)).withDilation(dil).withCeilMode(g.chance(0.5));
            int span = (k - 1) * dil + 1;
            Input x = g.input(new int[] {g.intIn(1, 2), g.intIn(1, 2), span + g.intIn(0, 3), span + g.intIn(0, 3)});
            g.note(p.toString());
            check(g, Op.MAX_POOL2D, xs -> Functional.maxPool2d(x.view(xs[0]), p), x.leaf());
        });
        PROPERTIES.put(Op.ADAPTIVE_AVG_POOL2D, g -> {
            int h = g.intIn(1, 6), w = g.intIn(1, 6);
            int oh = g.intIn(1, h + 1), ow = g.intIn(1, w);
            Input x = g.input(new int[] {g.intIn(1, 2), g.intIn(1, 2), h, w});
            check(g, Op.ADAPTIVE_AVG_POOL2D, xs -> Functional.adaptiveAvgPool2d(x.view(xs[0]), oh, ow), x.leaf());
        });
    }

    private static int[] prepend(int first, int[] rest) {
        int[] out = new int[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    private static int[] shuffled(Gen g, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = g.intIn(0, i);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Runs the property of one primitive; returns the number of cases. */
    static int run(Op op) {
        return Property.check("gradient of " + op.opName(), CASES, PROPERTIES.get(op));
    }
}
