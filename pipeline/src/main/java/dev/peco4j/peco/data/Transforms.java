package dev.peco4j.peco.data;

import dev.peco4j.tensor.Generator;
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

    public static Transform centerCrop(int size) {
        return (img, g) -> crop(img, (img.height() - size) / 2, (img.width() - size) / 2, size, size);
    }

    public static Transform resize(int height, int width) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("resize: size must be >= 1, got " + height + "x" + width);
        return (img, g) -> img.height() == height && img.width() == width ? img
                : resizeRegion(img, 0, 0, img.height(), img.width(), height, width);
    }

    /**
     * torchvision RandomResizedCrop: an area fraction in scale and a log-uniform aspect ratio in
     * ratio (10 tries, then the center crop with the ratio clamped), resized bilinearly to size×size.
     */
    public static Transform randomResizedCrop(int size, double scaleLo, double scaleHi, double ratioLo, double ratioHi) {
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
                    return resizeRegion(img, top, left, ch, cw, size, size);
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
            return resizeRegion(img, (h - ch) / 2, (w - cw) / 2, ch, cw, size, size);
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

    /** Bilinear resize of a region to oh×ow (align_corners=False, edge clamped). */
    static Image resizeRegion(Image img, int top, int left, int rh, int rw, int oh, int ow) {
        Interpolation.Taps ty = Interpolation.taps(rh, oh, Interpolation.Mode.BILINEAR, false);
        Interpolation.Taps tx = Interpolation.taps(rw, ow, Interpolation.Mode.BILINEAR, false);
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
                    out[(ch * oh + y) * ow + x] = (float) v;
                }
            }
        }
        return new Image(c, oh, ow, out);
    }
}
