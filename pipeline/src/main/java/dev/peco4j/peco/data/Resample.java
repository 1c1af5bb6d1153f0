package dev.peco4j.peco.data;

import dev.peco4j.tensor.Interpolation;

/**
 * PIL's resampling filters (Image.resize with BILINEAR, BICUBIC or LANCZOS, as torchvision and timm
 * apply them to PIL images), on float images: when shrinking, the filter is stretched by the scale
 * (antialiasing); output pixel o samples around center (o + ½)·in/out over support·max(scale, 1)
 * input pixels, with weights filter((i − center + ½)/max(scale, 1)) normalized to sum 1. Filters:
 * triangle (support 1), bicubic with a = −0.5 (support 2), Lanczos-3 (support 3). The arithmetic is
 * PIL's on float ('F') images; {@link Transforms} then clamps to [0, 1], as PIL's 8-bit images clip
 * the overshoot of bicubic and Lanczos at edges.
 *
 * <p>The other resampling of the data pipeline, {@link Transforms#resize} without a filter, is
 * PyTorch's tensor bilinear (no antialiasing).
 */
public enum Resample {
    BILINEAR(1), BICUBIC(2), LANCZOS(3);

    /** The filter's support at scale 1, in input pixels either side. */
    public final double support;

    Resample(double support) {
        this.support = support;
    }

    double filter(double x) {
        x = Math.abs(x);
        return switch (this) {
            case BILINEAR -> x < 1 ? 1 - x : 0;
            case BICUBIC -> {
                double a = -0.5;
                yield x < 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? (((x - 5) * x + 8) * x - 4) * a : 0;
            }
            case LANCZOS -> x < 3 ? sinc(x) * sinc(x / 3) : 0;
        };
    }

    private static double sinc(double x) {
        if (x == 0) return 1;
        x *= Math.PI;
        return Math.sin(x) / x;
    }

    /** The map from in samples to out samples along one axis (PIL's precompute_coeffs), padded with zero weights to one tap count. */
    public Interpolation.Taps taps(int in, int out) {
        if (in < 1 || out < 1) throw new IllegalArgumentException("resample: sizes must be >= 1, got " + in + " -> " + out);
        double scale = (double) in / out, filterScale = Math.max(scale, 1), sup = support * filterScale;
        int k = (int) Math.ceil(sup) * 2 + 1;
        int[] index = new int[out * k];
        double[] weight = new double[out * k];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale, total = 0;
            int lo = Math.max((int) (center - sup + 0.5), 0), n = Math.min((int) (center + sup + 0.5), in) - lo;
            for (int j = 0; j < n; j++) {
                double w = filter((j + lo - center + 0.5) / filterScale);
                index[o * k + j] = lo + j;
                weight[o * k + j] = w;
                total += w;
            }
            for (int j = 0; j < n; j++) if (total != 0) weight[o * k + j] /= total;
            for (int j = n; j < k; j++) index[o * k + j] = lo; // unused taps: weight 0
        }
        return new Interpolation.Taps(in, out, k, index, weight);
    }
}
