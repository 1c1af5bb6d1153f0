package dev.peco4j.peco.data;

import dev.peco4j.tensor.Interpolation;

/**
 * The usual augmentations (torchvision semantics): padding, random crop with padding, horizontal
 * flip, random resized crop, resize, center crop and per-channel normalization. Bilinear sampling
 * is the tensor core's ({@link Interpolation}: PyTorch's align_corners=False).
 */
public final class Transforms {
    private Transforms() {}

    /** Pads every side by p pixels of value 0 (black). 28 → 32 for MNIST-like images with p = 2. */
    public static Transform pad(int p) {
        if (p < 0) throw new IllegalArgumentException("pad: padding must be >= 0, got " + p);
        return (img, g) -> p == 0 ? img : crop(img, -p, -p, img.height() + 2 * p, img.width() + 2 * p);
    }

    /** torchvision RandomCrop(size, padding): zero-pad by padding, then a size×size crop at a uniform position. */
    public static Transform randomCrop(int size, int padding) {
        if (size < 1 || padding < 0) throw new IllegalArgumentException("randomCrop: need size >= 1 and padding >= 0, got " + size + ", " + padding);
        return (img, g) -> {
            int h = img.height() + 2 * padding, w = img.width() + 2 * padding;
            if (size > h || size > w) {
                throw new IllegalArgumentException("randomCrop: crop " + size + " is larger than the padded image " + h + "x" + w);
            }
            int top = g.nextInt(h - size + 1) - padding, left = g.nextInt(w - size + 1) - padding;
            return crop(img, top, left, size, size);
        };
    }

    public static Transform randomHorizontalFlip(double p) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("randomHorizontalFlip: p must be in [0, 1], got " + p);
        return (img, g) -> g.nextDouble() < p ? hflip(img) : img;
    }

    /** torchvision's CenterCrop: the offsets round((H − size) / 2) with halves to even, as Python's round. */
    public static Transform centerCrop(int size) {
        return (img, g) -> crop(img, (int) Math.rint((img.height() - size) / 2.0), (int) Math.rint((img.width() - size) / 2.0), size, size);
    }

    public static Transform resize(int height, int width) {
        return resize(height, width, null);
    }

    /** Resizes to height × width with a PIL filter (null: PyTorch's tensor bilinear); the same size is left as it is. */
    public static Transform resize(int height, int width, Resample filter) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("resize: size must be >= 1, got " + height + "x" + width);
        return (img, g) -> img.height() == height && img.width() == width ? img
                : resizeRegion(img, 0, 0, img.height(), img.width(), height, width, filter);
    }

    /**
     * torchvision's Resize(size) with one number: the shorter side to size, the longer to
     * ⌊size · longer / shorter⌋, with a PIL filter; an image of that size already is left as it is.
     */
    public static Transform resizeShorter(int size, Resample filter) {
        if (size < 1) throw new IllegalArgumentException("resize: size must be >= 1, got " + size);
        return (img, g) -> {
            int h = img.height(), w = img.width();
            int nh = h <= w ? size : (int) ((long) size * h / w), nw = h <= w ? (int) ((long) size * w / h) : size;
            return nh == h && nw == w ? img : resizeRegion(img, 0, 0, h, w, nh, nw, filter);
        };
    }

    /**
     * torchvision RandomResizedCrop: an area fraction in scale and a log-uniform aspect ratio in
     * ratio (10 tries, then the center crop with the ratio clamped), resized bilinearly to size×size.
     */
    public static Transform randomResizedCrop(int size, double scaleLo, double scaleHi, double ratioLo, double ratioHi) {
        return randomResizedCrop(size, scaleLo, scaleHi, ratioLo, ratioHi, null);
    }

    /** {@link #randomResizedCrop(int, double, double, double, double)} resampled with a PIL filter (null: PyTorch's tensor bilinear). */
    public static Transform randomResizedCrop(int size, double scaleLo, double scaleHi, double ratioLo, double ratioHi, Resample filter) {
        if (!(0 < scaleLo && scaleLo <= scaleHi && scaleHi <= 1) || !(0 < ratioLo && ratioLo <= ratioHi)) {
            throw new IllegalArgumentException("randomResizedCrop: need 0 < scale " + scaleLo + " <= " + scaleHi + " <= 1 and 0 < ratio "
                    + ratioLo + " <= " + ratioHi);
        }
        return (img, g) -> {
            int h = img.height(), w = img.width();
            double area = (double) h * w;
            for (int attempt = 0; attempt < 10; attempt++) {
                double target = area * (scaleLo + (scaleHi - scaleLo) * g.nextDouble());
                double logLo = Math.log(ratioLo), logHi = Math.log(ratioHi);
                double ar = Math.exp(logLo + (logHi - logLo) * g.nextDouble());
                int cw = (int) Math.round(Math.sqrt(target * ar)), ch = (int) Math.round(Math.sqrt(target / ar));
                if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
                    int top = g.nextInt(h - ch + 1), left = g.nextInt(w - cw + 1);
                    return resizeRegion(img, top, left, ch, cw, size, size, filter);
                }
            }
            double inRatio = (double) w / h;
            int cw, ch;
            if (inRatio < ratioLo) {
                cw = w;
                ch = (int) Math.round(w / ratioLo);
            } else if (inRatio > ratioHi) {
                ch = h;
                cw = (int) Math.round(h * ratioHi);
            } else {
                cw = w;
                ch = h;
            }
            return resizeRegion(img, (h - ch) / 2, (w - cw) / 2, ch, cw, size, size, filter);
        };
    }

    /** (x − mean[c]) / std[c] per channel; one value applies to every channel. */
    public static Transform normalize(double[] mean, double[] std) {
        for (double s : std) if (!(s > 0)) throw new IllegalArgumentException("normalize: std must be > 0, got " + s);
        return (img, g) -> {
            if (mean.length != 1 && mean.length != img.channels() || std.length != mean.length) {
                throw new IllegalArgumentException("normalize: " + mean.length + " means and " + std.length + " stds for an image with "
                        + img.channels() + " channels");
            }
            int plane = img.height() * img.width();
            float[] out = new float[img.data().length];
            for (int c = 0; c < img.channels(); c++) {
                int k = mean.length == 1 ? 0 : c;
                float m = (float) mean[k], inv = (float) (1 / std[k]);
                for (int i = c * plane; i < (c + 1) * plane; i++) out[i] = (img.data()[i] - m) * inv;
            }
            return new Image(img.channels(), img.height(), img.width(), out);
        };
    }

    public static Transform normalize(double mean, double std) {
        return normalize(new double[] {mean}, new double[] {std});
    }

    /** Applies t with probability p (torchvision's RandomApply). */
    public static Transform randomApply(double p, Transform t) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("randomApply: p must be in [0, 1], got " + p);
        return (img, g) -> g.nextDouble() < p ? t.apply(img, g) : img;
    }

    /**
     * torchvision ColorJitter on images in [0, 1]: brightness, contrast and saturation factors drawn
     * uniformly from [max(0, 1 − v), 1 + v], applied in a random order, each result clamped to [0, 1].
     * Brightness scales; contrast blends with the mean of the image's gray levels; saturation blends
     * with the gray image (a no-op on one channel). Hue is not offered: it needs color images, which no
     * dataset of this project has yet.
     */
    public static Transform colorJitter(double brightness, double contrast, double saturation) {
        if (!(brightness >= 0 && contrast >= 0 && saturation >= 0)) {
            throw new IllegalArgumentException("colorJitter: strengths must be >= 0, got " + brightness + ", " + contrast + ", " + saturation);
        }
        double[] v = {brightness, contrast, saturation};
        return (img, g) -> {
            int[] order = {0, 1, 2};
            for (int i = 2; i > 0; i--) {                                              // torchvision draws a permutation of the ops
                int j = g.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int op : order) {
                if (v[op] == 0) continue;
                double f = Math.max(0, 1 - v[op]) + (1 + v[op] - Math.max(0, 1 - v[op])) * g.nextDouble();
                img = switch (op) {
                    case 0 -> blend(img, null, f);
                    case 1 -> blend(img, Double.valueOf(mean(gray(img))), f);
                    default -> img.channels() == 1 ? img : blendGray(img, f);
                };
            }
            return img;
        };
    }

    /** f·x + (1 − f)·other, clamped; other is 0 (brightness) or one value (contrast). */
    private static Image blend(Image img, Double other, double f) {
        float[] out = new float[img.data().length];
        double o = other == null ? 0 : other;
        for (int i = 0; i < out.length; i++) out[i] = (float) Math.clamp(f * img.data()[i] + (1 - f) * o, 0, 1);
        return new Image(img.channels(), img.height(), img.width(), out);
    }

    private static Image blendGray(Image img, double f) {
        float[] gr = gray(img), out = new float[img.data().length];
        int plane = gr.length;
        for (int i = 0; i < out.length; i++) out[i] = (float) Math.clamp(f * img.data()[i] + (1 - f) * gr[i % plane], 0, 1);
        return new Image(img.channels(), img.height(), img.width(), out);
    }

    /** ITU-R 601 luminance, as torchvision's rgb_to_grayscale; the image itself when it has one channel. */
    static float[] gray(Image img) {
        if (img.channels() == 1) return img.data();
        int plane = img.height() * img.width();
        float[] out = new float[plane];
        for (int i = 0; i < plane; i++) out[i] = 0.299f * img.data()[i] + 0.587f * img.data()[plane + i] + 0.114f * img.data()[2 * plane + i];
        return out;
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) s += x;
        return s / v.length;
    }

    /** torchvision RandomGrayscale(p): the luminance in every channel (a no-op on one channel). */
    public static Transform randomGrayscale(double p) {
        return randomApply(p, (img, g) -> {
            if (img.channels() == 1) return img;
            float[] gr = gray(img), out = new float[img.data().length];
            for (int i = 0; i < out.length; i++) out[i] = gr[i % gr.length];
            return new Image(img.channels(), img.height(), img.width(), out);
        });
    }

    /**
     * torchvision GaussianBlur(kernel, sigma=(lo, hi)): sigma uniform in [lo, hi], a separable
     * kernel of the given odd size, reflect padding.
     */
    public static Transform gaussianBlur(int kernel, double sigmaLo, double sigmaHi) {
        if (kernel < 1 || kernel % 2 == 0 || !(0 < sigmaLo && sigmaLo <= sigmaHi)) {
            throw new IllegalArgumentException("gaussianBlur: need an odd kernel and 0 < sigma " + sigmaLo + " <= " + sigmaHi + ", got kernel " + kernel);
        }
        return (img, g) -> {
            double sigma = sigmaLo + (sigmaHi - sigmaLo) * g.nextDouble();
            int r = kernel / 2;
            double[] k = new double[kernel];
            double sum = 0;
            for (int i = 0; i < kernel; i++) sum += k[i] = Math.exp(-0.5 * ((i - r) / sigma) * ((i - r) / sigma));
            for (int i = 0; i < kernel; i++) k[i] /= sum;
            return convolveRows(transpose(convolveRows(transpose(img), k)), k);
        };
    }

    /** Each row convolved with k, reflect padding (torch's 'reflect': the edge pixel is not repeated). */
    private static Image convolveRows(Image img, double[] k) {
        int c = img.channels(), h = img.height(), w = img.width(), r = k.length / 2;
        float[] out = new float[c * h * w];
        for (int row = 0; row < c * h; row++) {
            for (int x = 0; x < w; x++) {
                double v = 0;
                for (int i = 0; i < k.length; i++) {
                    int sx = reflect(x + i - r, w);
                    v += k[i] * img.data()[row * w + sx];
                }
                out[row * w + x] = (float) v;
            }
        }
        return new Image(c, h, w, out);
    }

    private static int reflect(int i, int n) {
        if (n == 1) return 0;
        while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
        return i;
    }

    private static Image transpose(Image img) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] out = new float[c * h * w];
        for (int ch = 0; ch < c; ch++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) out[(ch * w + x) * h + y] = img.at(ch, y, x);
        return new Image(c, w, h, out);
    }

    /**
     * timm's RandomErasing (Zhong et al.) in its "pixel" mode, on normalized images: with probability p,
     * one box of area uniform in [minArea, maxArea] of the image and aspect log-uniform in [minAspect,
     * 1/minAspect] (up to 10 tries for one that fits) is filled with per-pixel, per-channel N(0, 1).
     * BEiT fine-tunes with p 0.25, areas 0.02..1/3, aspect 0.3.
     */
    public static Transform randomErasing(double p, double minArea, double maxArea, double minAspect) {
        if (!(p >= 0 && p <= 1) || !(0 < minArea && minArea <= maxArea && maxArea <= 1) || !(minAspect > 0 && minAspect <= 1)) {
            throw new IllegalArgumentException("randomErasing: need p in [0, 1], 0 < min area " + minArea + " <= max area " + maxArea + " <= 1, aspect in (0, 1]");
        }
        double logLo = Math.log(minAspect), logHi = -Math.log(minAspect);
        return (img, g) -> {
            if (g.nextDouble() >= p) return img;
            int c = img.channels(), h = img.height(), w = img.width();
            for (int attempt = 0; attempt < 10; attempt++) {
                double area = (minArea + (maxArea - minArea) * g.nextDouble()) * h * w;
                double aspect = Math.exp(logLo + (logHi - logLo) * g.nextDouble());
                int eh = (int) Math.rint(Math.sqrt(area * aspect)), ew = (int) Math.rint(Math.sqrt(area / aspect));
                if (ew < w && eh < h) {
                    int top = g.nextInt(h - eh + 1), left = g.nextInt(w - ew + 1);
                    float[] out = img.data().clone();
                    for (int ch = 0; ch < c; ch++) {
                        for (int y = top; y < top + eh; y++) for (int x = left; x < left + ew; x++) out[(ch * h + y) * w + x] = (float) g.nextGaussian();
                    }
                    return new Image(c, h, w, out);
                }
            }
            return img;
        };
    }

    /** BYOL's solarization of images in [0, 1]: x below the threshold stays, above it becomes 1 − x. */
    public static Transform solarize(double threshold) {
        return (img, g) -> {
            float[] out = img.data().clone();
            for (int i = 0; i < out.length; i++) if (out[i] >= threshold) out[i] = 1 - out[i];
            return new Image(img.channels(), img.height(), img.width(), out);
        };
    }

    // ------------------------------------------------------------------ pixel work

    /** The region [top, top+h) × [left, left+w); pixels outside the image are 0. */
    static Image crop(Image img, int top, int left, int h, int w) {
        int c = img.channels();
        float[] out = new float[c * h * w];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int sy = top + y;
                if (sy < 0 || sy >= img.height()) continue;
                for (int x = 0; x < w; x++) {
                    int sx = left + x;
                    if (sx >= 0 && sx < img.width()) out[(ch * h + y) * w + x] = img.at(ch, sy, sx);
                }
            }
        }
        return new Image(c, h, w, out);
    }

    static Image hflip(Image img) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] out = new float[c * h * w];
        for (int row = 0; row < c * h; row++) {
            for (int x = 0; x < w; x++) out[row * w + x] = img.data()[row * w + (w - 1 - x)];
        }
        return new Image(c, h, w, out);
    }

    /**
     * A region resized to oh×ow: PyTorch's tensor bilinear (align_corners=False, edge clamped) when filter
     * is null, else PIL's filter ({@link Resample}) with the result clamped to [0, 1] as 8-bit PIL images clip.
     */
    static Image resizeRegion(Image img, int top, int left, int rh, int rw, int oh, int ow, Resample filter) {
        Interpolation.Taps ty = filter == null ? Interpolation.taps(rh, oh, Interpolation.Mode.BILINEAR, false) : filter.taps(rh, oh);
        Interpolation.Taps tx = filter == null ? Interpolation.taps(rw, ow, Interpolation.Mode.BILINEAR, false) : filter.taps(rw, ow);
        int c = img.channels();
        float[] out = new float[c * oh * ow];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    double v = 0;
                    for (int j = 0; j < ty.k(); j++) {
                        double row = 0;
                        for (int i = 0; i < tx.k(); i++) {
                            row += tx.weight()[x * tx.k() + i] * img.at(ch, top + ty.index()[y * ty.k() + j], left + tx.index()[x * tx.k() + i]);
                        }
                        v += ty.weight()[y * ty.k() + j] * row;
                    }
                    out[(ch * oh + y) * ow + x] = (float) (filter == null ? v : Math.min(Math.max(v, 0), 1));
                }
            }
        }
        return new Image(c, oh, ow, out);
    }
}
