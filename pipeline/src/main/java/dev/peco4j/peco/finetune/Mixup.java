package dev.peco4j.peco.finetune;

import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/**
 * timm's Mixup in its "batch" mode, as BEiT fine-tunes with it: per batch, with probability prob,
 * either mixup (λ ~ Beta(α, α), images blended with the batch reversed) or CutMix (λ ~ Beta(β, β), a
 * box of area 1 − λ pasted from the reversed batch, λ then corrected to the box actually pasted),
 * CutMix chosen with probability switchProb when both are on. Targets become label-smoothed one-hot
 * vectors mixed the same way: y·λ + flip(y)·(1 − λ), with off = smoothing / K, on = 1 − smoothing + off.
 *
 * <pre>{@code
 * Mixup.Result r = new Mixup(0.8, 1.0, 1.0, 0.5, 0.1, 10).apply(x, labels, Generator.derive(seed, MIX, step));
 * Tensor loss = Losses.softTargetCrossEntropy(model.forward(r.images()), r.targets());
 * }</pre>
 */
public final class Mixup {
    public final double mixupAlpha, cutmixAlpha, prob, switchProb, smoothing;
    public final int classes;

    public Mixup(double mixupAlpha, double cutmixAlpha, double prob, double switchProb, double smoothing, int classes) {
        if (!(mixupAlpha >= 0) || !(cutmixAlpha >= 0) || !(prob >= 0 && prob <= 1) || !(switchProb >= 0 && switchProb <= 1) || !(smoothing >= 0 && smoothing < 1)
                || classes < 1) {
            throw new IllegalArgumentException("mixup: need alphas >= 0, probabilities in [0, 1], smoothing in [0, 1), classes >= 1; got " + mixupAlpha + ", "
                    + cutmixAlpha + ", " + prob + ", " + switchProb + ", " + smoothing + ", " + classes);
        }
        this.mixupAlpha = mixupAlpha;
        this.cutmixAlpha = cutmixAlpha;
        this.prob = prob;
        this.switchProb = switchProb;
        this.smoothing = smoothing;
        this.classes = classes;
    }

    /** images (B, C, H, W) and targets (B, K) after mixing; lambda: the share of each image's own; cutmix: which was applied (false also when none). */
    public record Result(Tensor images, Tensor targets, double lambda, boolean cutmix) {}

    public boolean active() {
        return prob > 0 && (mixupAlpha > 0 || cutmixAlpha > 0);
    }

    public Result apply(Tensor x, Tensor labels, Generator g) {
        double lam = 1;
        boolean useCutmix = false;
        if ((mixupAlpha > 0 || cutmixAlpha > 0) && g.nextDouble() < prob) {     // timm's _params_per_batch, in its order of draws
            useCutmix = mixupAlpha > 0 && cutmixAlpha > 0 ? g.nextDouble() < switchProb : mixupAlpha == 0;
            lam = beta(g, useCutmix ? cutmixAlpha : mixupAlpha);
        }
        Tensor images = x;
        if (lam != 1) {
            Tensor flipped = x.flip(0);
            if (useCutmix) {
                int h = x.size(2), w = x.size(3);
                double cut = Math.sqrt(1 - lam);
                int ch = (int) (h * cut), cw = (int) (w * cut);
                int cy = g.nextInt(h), cx = g.nextInt(w);                                 // numpy randint(0, H): the high end excluded
                int yl = clip(cy - ch / 2, h), yh = clip(cy + ch / 2, h), xl = clip(cx - cw / 2, w), xh = clip(cx + cw / 2, w);
                float[] m = new float[h * w];
                for (int y = yl; y < yh; y++) for (int xx = xl; xx < xh; xx++) m[y * w + xx] = 1;
                Tensor box = Tensor.of(m, 1, 1, h, w);
                images = x.mul(box.neg().add(1.0)).add(flipped.mul(box));
                lam = 1 - (double) (yh - yl) * (xh - xl) / (h * w);                     // timm's correct_lam
            } else {
                images = x.mul(lam).add(flipped.mul(1 - lam));
            }
        }
        return new Result(images, targets(labels, lam), lam, useCutmix && lam != 1);
    }

    private static int clip(int v, int hi) {
        return Math.min(Math.max(v, 0), hi);
    }

    /** timm's mixup_target: smoothed one-hot of y, mixed with that of the reversed batch. */
    public Tensor targets(Tensor labels, double lam) {
        int[] y = labels.toIntArray();
        int b = y.length;
        double off = smoothing / classes, on = 1 - smoothing + off;
        float[] t = new float[b * classes];
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < classes; k++) {
                double a = y[i] == k ? on : off, r = y[b - 1 - i] == k ? on : off;
                t[i * classes + k] = (float) (a * lam + r * (1 - lam));
            }
        }
        return Tensor.of(t, b, classes);
    }

    /** Beta(a, a) from two Gamma(a) draws. */
    static double beta(Generator g, double a) {
        double x = gamma(g, a), y = gamma(g, a);
        return x / (x + y);
    }

    /** Gamma(a, 1) by Marsaglia and Tsang (with the a &lt; 1 boost). */
    static double gamma(Generator g, double a) {
        if (a < 1) return gamma(g, a + 1) * Math.pow(g.nextDouble(), 1 / a);
        double d = a - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
        while (true) {
            double z = g.nextGaussian(), v = 1 + c * z;
            if (v <= 0) continue;
            v = v * v * v;
            double u = g.nextDouble();
            if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
        }
    }
}
