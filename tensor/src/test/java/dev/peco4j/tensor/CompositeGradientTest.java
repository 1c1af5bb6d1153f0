package dev.peco4j.tensor;

import dev.peco4j.tensor.testing.Gen;
import dev.peco4j.tensor.testing.Gen.Input;
import dev.peco4j.tensor.testing.Property;
import org.junit.jupiter.api.Test;

/** Composed ops need no backward of their own, but their gradients are still checked end to end. */
class CompositeGradientTest {
    private static final int CASES = 20;

    private static void check(Gen g, String name, java.util.function.Function<Tensor[], Tensor> f, Tensor... leaves) {
        GradCheck.check(name, f, GradCheck.Options.defaults(g.seed()), leaves);
    }

    private static int[] someDims(Gen g, int r) {
        return java.util.stream.IntStream.range(0, r).filter(d -> g.chance(0.5)).toArray();
    }

    @Test
    void interpolation() {
        Property.check("interpolate (nearest/bilinear/bicubic, align_corners both ways)", CASES, g -> {
            int h = g.intIn(1, 5), w = g.intIn(1, 5), oh = g.intIn(1, 7), ow = g.intIn(1, 7);
            Interpolation.Mode mode = Interpolation.Mode.values()[g.intIn(0, 2)];
            boolean align = mode != Interpolation.Mode.NEAREST && g.chance(0.5);
            Input a = g.input(new int[] {g.intIn(1, 2), g.intIn(1, 2), h, w});
            check(g, "interpolate " + mode + (align ? " aligned" : ""), xs -> Interpolation.resize(a.view(xs[0]), oh, ow, mode, align), a.leaf());
        });
    }

    @Test
    void reductions() {
        Property.check("mean/var/std/logsumexp/norm", CASES, g -> {
            int[] s = g.shape(1, 3, 4);
            int[] dims = someDims(g, s.length);
            boolean keep = g.chance(0.5);
            Input a = g.input(s);
            check(g, "mean", xs -> a.view(xs[0]).mean(dims, keep), a.leaf());
            if (Shape.of(s).numel() > 1 && ReduceOps.count(Shape.of(s), Shape.of(s).normalizeDims(dims, "t")) > 1) {
                check(g, "var", xs -> a.view(xs[0]).var(dims, 1, keep), a.leaf());
                // std is singular at zero variance (an expanded input can be constant): use a plain leaf
                Tensor plain = g.values(s, -2, 2).requiresGrad(true);
                check(g, "std", xs -> xs[0].std(dims, 0, keep), plain);
            }
            check(g, "logsumexp", xs -> a.view(xs[0]).logsumexp(dims, keep), a.leaf());
            check(g, "norm2", xs -> a.view(xs[0]).norm(2, dims, keep), a.leaf());
            check(g, "norm3", xs -> a.view(xs[0]).norm(3, dims, keep), a.leaf());
            check(g, "max values", xs -> a.view(xs[0]).max(-1, keep).values(), a.leaf());
            check(g, "amin", xs -> a.view(xs[0]).amin(dims, keep), a.leaf());
        });
    }

    @Test
    void normalizations() {
        Property.check("layer/group/batch norm", CASES, g -> {
            int n = g.intIn(2, 3), c = 2 * g.intIn(1, 2), h = g.intIn(1, 3), w = g.intIn(2, 3);
            Input x = g.input(new int[] {n, c, h, w});
            Tensor gamma = g.values(new int[] {c}, 0.5, 1.5).requiresGrad(true);
            Tensor beta = g.values(new int[] {c}, -0.5, 0.5).requiresGrad(true);
            Tensor lw = g.values(new int[] {h, w}, 0.5, 1.5).requiresGrad(true);
            Tensor lb = g.values(new int[] {h, w}, -0.5, 0.5).requiresGrad(true);
            check(g, "layer_norm", p -> Functional.layerNorm(x.view(p[0]), 2, p[1], p[2], 1e-5), x.leaf(), lw, lb);
            check(g, "group_norm", p -> Functional.groupNorm(x.view(p[0]), c / 2, p[1], p[2], 1e-5), x.leaf(), gamma, beta);
            check(g, "batch_norm", p -> Functional.batchNorm(x.view(p[0]), null, null, p[1], p[2], true, 0.1, 1e-5),
                    x.leaf(), gamma, beta);
        });
    }

    @Test
    void lossesAndIndexing() {
        Property.check("cross_entropy/mse/l1/embedding/masked rows", CASES, g -> {
            int n = g.intIn(1, 4), c = g.intIn(2, 5), extra = g.intIn(1, 3);
            Input logits = g.input(new int[] {n, c, extra});
            Tensor target = g.ints(new int[] {n, extra}, 0, c - 1);
            if (g.chance(0.5)) target = target.where(g.values(new int[] {n, extra}, 0, 1).gt(0.3), Tensor.full(DType.INT32, -100, n, extra));
            // at least one target must count, or the mean is 0/0
            int[] t = target.toIntArray();
            t[0] = Math.floorMod(t[0], c);
            Tensor tgt = Tensor.ofInts(t, n, extra);
            double smoothing = g.chance(0.5) ? 0 : g.uniform(0, 0.3);
            check(g, "cross_entropy", p -> Functional.crossEntropy(logits.view(p[0]), tgt, smoothing, -100,
                    LossOps.Reduction.MEAN), logits.leaf());
            Input a = g.input(new int[] {n, c}), b = g.input(new int[] {n, c});
            check(g, "mse", p -> Functional.mseLoss(a.view(p[0]), b.view(p[1])), a.leaf(), b.leaf());
            check(g, "l1", p -> Functional.l1Loss(a.view(p[0]), b.view(p[1])), a.leaf(), b.leaf());
            Tensor table = g.values(new int[] {c, 3}, -1, 1).requiresGrad(true);
            Tensor ids = g.ints(new int[] {n, 2}, 0, c - 1);
            check(g, "embedding", p -> Functional.embedding(p[0], ids), table);
            Tensor mask = g.values(new int[] {n, c}, -1, 1).gt(0.0);
            Tensor seq = g.values(new int[] {n, c, 2}, -1, 1).requiresGrad(true);
            if (mask.toIntArray().length > 0 && java.util.Arrays.stream(mask.toIntArray()).sum() > 0) {
                check(g, "masked rows", p -> p[0].maskedRows(mask), seq);
            }
            long dropSeed = g.seed();
            check(g, "dropout", p -> Functional.dropout(a.view(p[0]), 0.3, true, new Generator(dropSeed)), a.leaf());
        });
    }

    @Test
    void viewsComposedOfPrimitives() {
        Property.check("select/narrow/squeeze/unsqueeze/stack/split/chunk/upsample", CASES, g -> {
            int[] s = g.shape(2, 4, 4);
            Input a = g.input(s);
            int d = g.intIn(0, s.length - 1);
            int at = g.intIn(0, s[d] - 1), scale = g.intIn(1, 3); // drawn once: f must be deterministic
            check(g, "select", p -> a.view(p[0]).select(d, at).exp(), a.leaf());
            check(g, "unsqueeze/squeeze", p -> a.view(p[0]).unsqueeze(d).exp().squeeze(), a.leaf());
            check(g, "stack", p -> Tensor.stack(java.util.List.of(a.view(p[0]), a.view(p[0]).sin()), d).tanh(), a.leaf());
            check(g, "chunk", p -> a.view(p[0]).chunk(2, d).get(0).exp(), a.leaf());
            check(g, "transpose", p -> a.view(p[0]).transpose(0, -1).matmul(Tensor.ones(DType.FLOAT64, s[0])), a.leaf());
            Input img = g.input(new int[] {1, 2, g.intIn(1, 3), g.intIn(1, 3)});
            check(g, "upsample", p -> Functional.upsampleNearest(img.view(p[0]), scale).square(), img.leaf());
        });
    }
}
