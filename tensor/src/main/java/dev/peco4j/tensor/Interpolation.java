package dev.peco4j.tensor;

/**
 * Resampling with PyTorch's {@code F.interpolate} semantics (antialias off), as one separable linear
 * map per axis: output index o reads input indices {@code index[o·k + j]} with weights
 * {@code weight[o·k + j]}, j &lt; k (k = 1 nearest, 2 bilinear, 4 bicubic).
 *
 * <ul>
 *   <li>source coordinate: align_corners=True: o·(in−1)/(out−1); False: (o + ½)·in/out − ½, clamped
 *       at 0 for the linear mode (PyTorch's area_pixel_compute_source_index); nearest: ⌊o·in/out⌋;</li>
 *   <li>bicubic: Keys' kernel with A = −0.75 over the four neighbours, indices clamped at the border.</li>
 * </ul>
 *
 * The tensor op ({@link #resize}) applies the per-axis maps as two matrix products, so its gradient
 * is the transposed maps, exact by construction; the image transforms of the data pipeline use the
 * same taps ({@link #taps}).
 *
 * <pre>{@code
 * Tensor y = Interpolation.resize(x, 224, 224, Interpolation.Mode.BICUBIC, false);   // (B, C, 224, 224)
 * }</pre>
 */
public final class Interpolation {
    private Interpolation() {}

    public enum Mode {
        NEAREST(1), BILINEAR(2), BICUBIC(4);

        /** Input samples per output sample. */
        public final int k;

        Mode(int k) {
            this.k = k;
        }
    }

    private static final double A = -0.75; // PyTorch's (and OpenCV's) bicubic coefficient

    /** The map from in samples to out samples along one axis: out × k indices and weights. */
    public record Taps(int in, int out, int k, int[] index, double[] weight) {
        /** The map as a dense (out, in) matrix of the given dtype. */
        Tensor matrix(DType dtype) {
            double[] m = new double[out * in];
            for (int o = 0; o < out; o++) for (int j = 0; j < k; j++) m[o * in + index[o * k + j]] += weight[o * k + j];
            return Tensor.of(m, out, in).to(dtype);
        }
    }

    public static Taps taps(int in, int out, Mode mode, boolean alignCorners) {
        if (in < 1 || out < 1) throw new IllegalArgumentException("interpolate: sizes must be >= 1, got " + in + " -> " + out);
        if (mode == Mode.NEAREST && alignCorners) throw new IllegalArgumentException("interpolate: align_corners applies to bilinear and bicubic only");
        int k = mode.k;
        int[] index = new int[out * k];
        double[] weight = new double[out * k];
        double scale = alignCorners ? (out > 1 ? (in - 1.0) / (out - 1) : 0) : (double) in / out;
        for (int o = 0; o < out; o++) {
            int at = o * k;
            if (mode == Mode.NEAREST) {
                index[at] = Math.min((int) Math.floor(o * scale), in - 1);
                weight[at] = 1;
                continue;
            }
            double src = alignCorners ? o * scale : (o + 0.5) * scale - 0.5;
            if (mode == Mode.BILINEAR) {
                if (src < 0) src = 0;
                int i0 = Math.min((int) src, in - 1);
                double l1 = src - i0;
                index[at] = i0;
                index[at + 1] = Math.min(i0 + 1, in - 1);
                weight[at] = 1 - l1;
                weight[at + 1] = l1;
            } else {
                int i = (int) Math.floor(src);
                double t = src - i;
                double[] w = {cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)};
                for (int j = 0; j < 4; j++) {
                    index[at + j] = Math.clamp(i - 1 + j, 0, in - 1);
                    weight[at + j] = w[j];
                }
            }
        }
        return new Taps(in, out, k, index, weight);
    }

    /** Keys' kernel for |x| ≤ 1. */
    private static double cubicNear(double x) {
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    /** Keys' kernel for 1 &lt; |x| &lt; 2. */
    private static double cubicFar(double x) {
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }

    /**
     * Resizes the last two dims of x (…, H, W) to (outH, outW): differentiable with respect to x.
     * PyTorch's {@code F.interpolate(x, size=(outH, outW), mode, align_corners)} with antialias off.
     */
    public static Tensor resize(Tensor x, int outH, int outW, Mode mode, boolean alignCorners) {
        if (x.dim() < 2 || !x.dtype().isFloating()) {
            throw new IllegalArgumentException("interpolate: input " + x.shape() + " " + x.dtype() + " is not a floating tensor (..., H, W)");
        }
        int h = x.size(x.dim() - 2), w = x.size(x.dim() - 1);
        // an axis whose size does not change maps to itself in every mode (the weights are one-hot): skip its product
        Tensor y = w == outW ? x : x.matmul(taps(w, outW, mode, alignCorners).matrix(x.dtype()).transpose(0, 1)); // (…, H, outW)
        return h == outH ? y : taps(h, outH, mode, alignCorners).matrix(x.dtype()).matmul(y);                   // (…, outH, outW)
    }
}
