package dev.peco4j.peco.data;

import dev.peco4j.tensor.Generator;
import java.util.List;

/**
 * timm's RandAugment as BEiT fine-tunes with it, {@code rand-m9-mstd0.5-inc1}: per image, 2 ops drawn
 * uniformly with replacement from the "increasing" set, each applied with probability 0.5 at a
 * magnitude drawn from N(9, 0.5²) clipped to [0, 10] (of 10). On images in [0, 1] (before
 * normalization), with 8-bit semantics where PIL's op has them:
 * <ul>
 *   <li>AutoContrast (stretch to the full range per channel), Equalize (histogram equalization on 256
 *       levels), Invert;</li>
 *   <li>Rotate ±30°·m/10, ShearX/Y ±0.3·m/10, TranslateXRel/YRel ±0.45·m/10 of the size (a random sign
 *       each; filled with the data's mean, as timm's img_mean; PIL's bilinear sampling, where timm uses
 *       the train interpolation, bicubic);</li>
 *   <li>Posterize to 4 − ⌊4·m/10⌋ bits, Solarize above 256 − ⌊256·m/10⌋ (of 255), SolarizeAdd
 *       +⌊110·m/10⌋ below 128;</li>
 *   <li>Color, Contrast, Brightness, Sharpness with factor 1 ± 0.9·m/10 (PIL's ImageEnhance: blend with
 *       the gray image, the mean gray level, black, the 3×3 smoothed image).</li>
 * </ul>
 * The gray image of Color and Contrast is PIL's luma, L = (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16 on
 * 8-bit levels, for RGB; a one-channel image is its own gray image (Color is then the identity). The
 * fill is one value per channel (timm's img_mean: the data's mean, rounded to a level), or one for all.
 */
public final class RandAugment implements Transform {
    public enum Op { AUTO_CONTRAST, EQUALIZE, INVERT, ROTATE, POSTERIZE, SOLARIZE, SOLARIZE_ADD, COLOR, CONTRAST, BRIGHTNESS, SHARPNESS, SHEAR_X, SHEAR_Y,
        TRANSLATE_X, TRANSLATE_Y }

    public static final List<Op> INCREASING = List.of(Op.values());

    private final int layers;
    private final double magnitude, magnitudeStd, prob;
    private final float[] fill;

    /**
     * layers ops per image at magnitude (of 10) ± magnitudeStd, each with probability prob; fill: what
     * geometric ops leave behind, in [0, 1], one value per channel or one for all (each rounded to a level, as PIL's fillcolor).
     */
    public RandAugment(int layers, double magnitude, double magnitudeStd, double prob, double... fill) {
        if (layers < 0 || !(magnitude >= 0 && magnitude <= 10) || !(magnitudeStd >= 0) || !(prob >= 0 && prob <= 1)) {
            throw new IllegalArgumentException("RandAugment: need layers >= 0, magnitude in [0, 10], std >= 0, p in [0, 1]; got " + layers + ", " + magnitude
                    + ", " + magnitudeStd + ", " + prob);
        }
        this.layers = layers;
        this.magnitude = magnitude;
        this.magnitudeStd = magnitudeStd;
        this.prob = prob;
        if (fill.length == 0) throw new IllegalArgumentException("RandAugment: need a fill value");
        this.fill = new float[fill.length];
        for (int i = 0; i < fill.length; i++) this.fill[i] = level((float) fill[i]) / 255f;
    }

    /**
     * timm's config string: "rand" then dash-separated m&lt;magnitude&gt;, n&lt;ops&gt;, mstd&lt;std&gt;, inc1, p&lt;prob&gt;
     * (defaults m 10, n 2, mstd 0, p 0.5), e.g. BEiT's "rand-m9-mstd0.5-inc1". Only the increasing op set
     * (inc1) is built; "none" gives null.
     */
    public static RandAugment parse(String spec, double... fill) {
        if (spec.equals("none")) return null;
        String[] parts = spec.split("-");
        if (!parts[0].equals("rand")) throw new IllegalArgumentException("--aa '" + spec + "': expected rand-... (timm's RandAugment string) or none");
        double m = 10, std = 0, p = 0.5;
        int n = 2;
        boolean inc = false;
        for (int i = 1; i < parts.length; i++) {
            String t = parts[i];
            try {
                if (t.startsWith("mstd")) std = Double.parseDouble(t.substring(4));
                else if (t.startsWith("m")) m = Double.parseDouble(t.substring(1));
                else if (t.startsWith("n")) n = Integer.parseInt(t.substring(1));
                else if (t.startsWith("inc")) inc = Integer.parseInt(t.substring(3)) == 1;
                else if (t.startsWith("p")) p = Double.parseDouble(t.substring(1));
                else throw new IllegalArgumentException("--aa '" + spec + "': unknown part '" + t + "' (m, n, mstd, inc, p)");
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--aa '" + spec + "': '" + t + "' is not a number after its letters", e);
            }
        }
        if (!inc) throw new IllegalArgumentException("--aa '" + spec + "': only the increasing op set (inc1) is built, as BEiT uses it");
        return new RandAugment(n, m, std, p, fill);
    }

    /** BEiT's rand-m9-mstd0.5-inc1: 2 ops, magnitude 9 ± 0.5, p 0.5. */
    public static RandAugment beit(double fill) {
        return new RandAugment(2, 9, 0.5, 0.5, fill);
    }

    @Override
    public Image apply(Image img, Generator g) {
        for (int i = 0; i < layers; i++) {
            Op op = INCREASING.get(g.nextInt(INCREASING.size()));
            if (g.nextDouble() >= prob) continue;
            double m = Math.min(Math.max(magnitude + magnitudeStd * g.nextGaussian(), 0), 10) / 10;
            img = apply(op, img, m, g.nextBoolean() ? 1 : -1);
        }
        return img;
    }

    /** One op at magnitude m in [0, 1] (of the maximum) with a sign for the ops that take one. */
    public Image apply(Op op, Image img, double m, int sign) {
        return switch (op) {
            case AUTO_CONTRAST -> perChannel(img, (d, from, to) -> {
                float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
                for (int i = from; i < to; i++) {
                    lo = Math.min(lo, d[i]);
                    hi = Math.max(hi, d[i]);
                }
                for (int i = from; i < to; i++) d[i] = hi > lo ? (d[i] - lo) / (hi - lo) : d[i];
            });
            case EQUALIZE -> perChannel(img, RandAugment::equalize);
            case INVERT -> map(img, v -> 1 - v);
            case POSTERIZE -> {
                int bits = 4 - (int) (m * 4), shift = 8 - bits;
                yield map(img, v -> ((level(v) >> shift) << shift) / 255f);
            }
            case SOLARIZE -> {
                int threshold = 256 - (int) (m * 256);
                yield map(img, v -> level(v) >= threshold ? 1 - v : v);
            }
            case SOLARIZE_ADD -> {
                int add = (int) (m * 110);
                yield map(img, v -> level(v) < 128 ? Math.min(level(v) + add, 255) / 255f : v);
            }
            case COLOR -> {
                if (img.channels() == 1) yield img;
                float[] gray = luma(img), out = img.data().clone();
                float f = (float) (1 + sign * 0.9 * m);
                for (int i = 0; i < out.length; i++) out[i] = clamp(gray[i % gray.length] + f * (out[i] - gray[i % gray.length]));
                yield new Image(img.channels(), img.height(), img.width(), out);
            }
            case CONTRAST -> {
                double mean = 0;
                float[] l = luma(img);
                for (float v : l) mean += level(v);
                float gray = (float) Math.floor(mean / l.length + 0.5) / 255f, f = (float) (1 + sign * 0.9 * m);     // PIL: int(mean + 0.5)
                yield map(img, v -> clamp(gray + f * (v - gray)));
            }
            case BRIGHTNESS -> {
                float f = (float) (1 + sign * 0.9 * m);
                yield map(img, v -> clamp(f * v));
            }
            case SHARPNESS -> sharpness(img, (float) (1 + sign * 0.9 * m));
            case ROTATE -> {
                double a = -Math.toRadians(sign * 30 * m), c = Math.cos(a), s = Math.sin(a);    // PIL rotate(+θ): counter-clockwise
                double cy = img.height() * 0.5, cx = img.width() * 0.5;          // PIL rotates about the center
                yield affine(img, c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy);
            }
            case SHEAR_X -> affine(img, 1, sign * 0.3 * m, 0, 0, 1, 0);
            case SHEAR_Y -> affine(img, 1, 0, 0, sign * 0.3 * m, 1, 0);
            case TRANSLATE_X -> affine(img, 1, 0, sign * 0.45 * m * img.width(), 0, 1, 0);
            case TRANSLATE_Y -> affine(img, 1, 0, 0, 0, 1, sign * 0.45 * m * img.height());
        };
    }

    private static int level(float v) {
        return Math.min(Math.max(Math.round(v * 255), 0), 255);
    }

    /**
     * The gray image PIL's Color and Contrast blend with, one plane in [0, 1]: the image itself for one
     * channel, PIL's 8-bit RGB → L luma for three; other channel counts are refused.
     */
    static float[] luma(Image img) {
        int plane = img.height() * img.width();
        float[] d = img.data();
        if (img.channels() == 1) return d;
        if (img.channels() != 3) throw new IllegalArgumentException("RandAugment: Color and Contrast take 1 or 3 channels, got " + img.channels());
        float[] out = new float[plane];
        for (int i = 0; i < plane; i++) out[i] = ((level(d[i]) * 19595 + level(d[plane + i]) * 38470 + level(d[2 * plane + i]) * 7471 + 0x8000) >> 16) / 255f;
        return out;
    }

    private static float clamp(float v) {
        return Math.min(Math.max(v, 0), 1);
    }

    private interface Pixel {
        float apply(float v);
    }

    private interface Plane {
        void apply(float[] d, int from, int to);
    }

    private static Image map(Image img, Pixel f) {
        float[] out = img.data().clone();
        for (int i = 0; i < out.length; i++) out[i] = f.apply(out[i]);
        return new Image(img.channels(), img.height(), img.width(), out);
    }

    private static Image perChannel(Image img, Plane f) {
        float[] out = img.data().clone();
        int plane = img.height() * img.width();
        for (int c = 0; c < img.channels(); c++) f.apply(out, c * plane, (c + 1) * plane);
        return new Image(img.channels(), img.height(), img.width(), out);
    }

    /** PIL's ImageOps.equalize on one channel: the cumulative histogram of 256 levels, the highest non-empty level's count left out of the step. */
    private static void equalize(float[] d, int from, int to) {
        int[] hist = new int[256];
        for (int i = from; i < to; i++) hist[level(d[i])]++;
        int nonzero = 0, last = 0;
        for (int i = 0; i < 256; i++) {
            if (hist[i] > 0) {
                nonzero++;
                last = hist[i];
            }
        }
        int step = ((to - from) - last) / 255;
        if (nonzero <= 1 || step == 0) return;
        int[] lut = new int[256];
        int n = step / 2;
        for (int i = 0; i < 256; i++) {
            lut[i] = Math.min(n / step, 255);
            n += hist[i];
        }
        for (int i = from; i < to; i++) d[i] = lut[level(d[i])] / 255f;
    }

    /** PIL's ImageEnhance.Sharpness: blend with the image smoothed by [[1,1,1],[1,5,1],[1,1,1]]/13 (the border kept). */
    private static Image sharpness(Image img, float factor) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] src = img.data(), out = src.clone();
        for (int ch = 0; ch < c; ch++) {
            for (int y = 1; y < h - 1; y++) {
                for (int x = 1; x < w - 1; x++) {
                    float sum = 0;
                    for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) sum += src[(ch * h + y + dy) * w + x + dx];
                    int i = (ch * h + y) * w + x;
                    float smooth = (sum + 4 * src[i]) / 13;
                    out[i] = clamp(smooth + factor * (src[i] - smooth));
                }
            }
        }
        return new Image(c, h, w, out);
    }

    /**
     * PIL's Image.transform(AFFINE, (a, b, c, d, e, f), BILINEAR, fillcolor): output pixel (x, y) samples
     * the input at (a·x' + b·y' + c, d·x' + e·y' + f) with x' = x + ½, y' = y + ½; a point outside the
     * image keeps the fill, a point inside is bilinear with the edge pixels repeated (PIL's Geometry.c).
     */
    private Image affine(Image img, double a, double b, double c, double d, double e, double f) {
        int ch = img.channels(), h = img.height(), w = img.width();
        if (fill.length != 1 && fill.length != ch) throw new IllegalArgumentException("RandAugment: " + fill.length + " fill values for an image of " + ch + " channels");
        float[] src = img.data(), out = new float[src.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double ux = a * (x + 0.5) + b * (y + 0.5) + c, uy = d * (x + 0.5) + e * (y + 0.5) + f;
                if (ux < 0 || ux >= w || uy < 0 || uy >= h) {
                    for (int k = 0; k < ch; k++) out[(k * h + y) * w + x] = fill[fill.length == 1 ? 0 : k];
                    continue;
                }
                double sx = ux - 0.5, sy = uy - 0.5;
                int x0 = (int) Math.floor(sx), y0 = (int) Math.floor(sy);
                double fx = sx - x0, fy = sy - y0;
                int xa = Math.max(x0, 0), xb = Math.min(x0 + 1, w - 1), ya = Math.max(y0, 0), yb = Math.min(y0 + 1, h - 1);
                for (int k = 0; k < ch; k++) {
                    int base = k * h * w;
                    double top = src[base + ya * w + xa] + fx * (src[base + ya * w + xb] - src[base + ya * w + xa]);
                    double bottom = src[base + yb * w + xa] + fx * (src[base + yb * w + xb] - src[base + yb * w + xa]);
                    out[base + y * w + x] = (float) (top + fy * (bottom - top));
                }
            }
        }
        return new Image(ch, h, w, out);
    }
}
