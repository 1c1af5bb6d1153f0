package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.testing.Property;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TransformsTest {
    private static Image ramp(int c, int h, int w) {
        float[] d = new float[c * h * w];
        for (int i = 0; i < d.length; i++) d[i] = (i % 97) / 97f;
        return new Image(c, h, w, d);
    }

    @Test
    void padAddsZeroBorders() {
        Image img = ramp(1, 28, 28);
        Image p = Transforms.pad(2).apply(img, null);
        assertEquals("Image[1x32x32]", p.toString());
        assertEquals(0f, p.at(0, 0, 0));
        assertEquals(0f, p.at(0, 31, 31));
        assertEquals(img.at(0, 0, 0), p.at(0, 2, 2));
        assertEquals(img.at(0, 27, 27), p.at(0, 29, 29));
    }

    @Test
    void randomCropIsAShiftedWindowOfThePaddedImage() {
        Property.check("randomCrop", 50, gen -> {
            int h = gen.intIn(4, 12), w = gen.intIn(4, 12), pad = gen.intIn(0, 3);
            Image img = ramp(2, h, w);
            long seed = gen.intIn(0, 1 << 30);
            Image out = Transforms.randomCrop(Math.min(h, w), pad).apply(img, new Generator(seed));
            Image again = Transforms.randomCrop(Math.min(h, w), pad).apply(img, new Generator(seed));
            assertEquals(out, again, "same generator, same crop");
            // find the shift: every pixel equals the source at (y+dy, x+dx) or 0 outside
            boolean found = false;
            for (int dy = -pad; dy <= h + pad - Math.min(h, w) && !found; dy++) {
                for (int dx = -pad; dx <= w + pad - Math.min(h, w) && !found; dx++) {
                    boolean ok = true;
                    for (int c = 0; c < 2 && ok; c++) {
                        for (int y = 0; y < out.height() && ok; y++) {
                            for (int x = 0; x < out.width() && ok; x++) {
                                int sy = y + dy, sx = x + dx;
                                float want = sy >= 0 && sy < h && sx >= 0 && sx < w ? img.at(c, sy, sx) : 0f;
                                ok = out.at(c, y, x) == want;
                            }
                        }
                    }
                    found = ok;
                }
            }
            assertTrue(found, "output is a window of the padded image");
        });
    }

    @Test
    void horizontalFlipTwiceIsTheIdentityAndMirrorsColumns() {
        Image img = ramp(3, 5, 7);
        Image f = Transforms.hflip(img);
        assertEquals(img.at(1, 2, 0), f.at(1, 2, 6));
        assertEquals(img, Transforms.hflip(f));
        int flips = 0;
        for (int s = 0; s < 400; s++) if (!Transforms.randomHorizontalFlip(0.5).apply(img, new Generator(s)).equals(img)) flips++;
        assertTrue(flips > 150 && flips < 250, "p = 0.5 flips about half: " + flips);
    }

    @Test
    void resizeOfAConstantImageIsConstantAndDownsampling2xAveragesPairs() {
        Image c = new Image(1, 6, 6, new float[36]);
        java.util.Arrays.fill(c.data(), 0.25f);
        Image r = Transforms.resize(9, 4).apply(c, null);
        for (float v : r.data()) assertEquals(0.25f, v, 1e-7);
        Image row = new Image(1, 1, 4, new float[] {0, 1, 2, 3});
        Image half = Transforms.resizeRegion(row, 0, 0, 1, 4, 1, 2, null);
        assertArrayEquals(new float[] {0.5f, 2.5f}, half.data(), 1e-6f); // align_corners=False samples at 0.5 and 2.5
    }

    /** Golden values from Pillow 9.4.0: Image.fromarray(row, mode="F").resize((w, 1), filter). */
    @Test
    void pilFiltersMatchPillowOnFloatImages() {
        Image row = new Image(1, 1, 7, new float[] {0.1f, 0.9f, 0.3f, 0.7f, 0.2f, 0.8f, 0.5f});
        Map<String, float[]> pil = Map.of(
                "BILINEAR 3", new float[] {0.4857143f, 0.5058823f, 0.5642857f},
                "BILINEAR 11", new float[] {0.1000000f, 0.4636364f, 0.8454545f, 0.4636364f, 0.4454545f, 0.7000000f, 0.3818182f, 0.3636364f, 0.7454545f, 0.6363636f, 0.5000000f},
                "BICUBIC 3", new float[] {0.4883064f, 0.4896215f, 0.5725806f},
                "BICUBIC 11", new float[] {0.0437500f, 0.4638283f, 0.8942900f, 0.4293764f, 0.4096920f, 0.7000000f, 0.3386927f, 0.3086401f, 0.7751315f, 0.6562280f, 0.4789062f},
                "LANCZOS 3", new float[] {0.4874230f, 0.5017861f, 0.5631797f},
                "LANCZOS 11", new float[] {0.0021461f, 0.4830565f, 0.9054112f, 0.4382720f, 0.3924561f, 0.7000000f, 0.3326676f, 0.2926616f, 0.7701572f, 0.6856969f, 0.4518712f});
        for (var e : pil.entrySet()) {
            String[] k = e.getKey().split(" ");
            Image r = Transforms.resize(1, Integer.parseInt(k[1]), Resample.valueOf(k[0])).apply(row, null);
            assertArrayEquals(e.getValue(), r.data(), 1e-6f, e.getKey());
        }
        Image same = Transforms.resize(1, 7, Resample.LANCZOS).apply(new Image(1, 2, 7, new float[14]), null);
        assertEquals(7, same.width(), "a resize to the width it has only changes the height");
    }

    @Test
    void randomResizedCropGivesTheRequestedSizeAndVaries() {
        Image img = ramp(1, 28, 28);
        Transform t = Transforms.randomResizedCrop(16, 0.35, 1.0, 3.0 / 4, 4.0 / 3);
        Image a = t.apply(img, new Generator(1)), b = t.apply(img, new Generator(2));
        assertEquals("Image[1x16x16]", a.toString());
        assertNotEquals(a, b);
        for (float v : a.data()) assertTrue(v >= 0 && v <= 1, "bilinear stays in range");
    }

    @Test
    void normalizeSubtractsTheMeanAndDividesByTheStdPerChannel() {
        Image img = new Image(2, 1, 2, new float[] {0.5f, 1f, 0f, 0.25f});
        Image n = Transforms.normalize(new double[] {0.5, 0.25}, new double[] {0.5, 0.25}).apply(img, null);
        assertArrayEquals(new float[] {0f, 1f, -1f, 0f}, n.data(), 1e-7f);
    }

    // ---------------------------------------------------------------- BYOL's color and blur augmentations (MoCo v3 views)

    @Test
    void colorJitterScalesBrightnessAndContrastWithinTheirRangesAndClamps() {
        Image img = ramp(1, 6, 6);
        Property.check("colorJitter brightness", 30, gen -> {
            long seed = gen.intIn(0, 1 << 30);
            Image b = Transforms.colorJitter(0.4, 0, 0).apply(img, new Generator(seed));
            double f = -1;
            for (int i = 0; i < img.data().length; i++) {
                float x = img.data()[i], y = b.data()[i];
                assertTrue(y >= 0 && y <= 1, "clamped to [0, 1]");
                if (x > 0.05 && y < 1) f = y / x;
            }
            assertTrue(f >= 0.6 - 1e-5 && f <= 1.4 + 1e-5, "brightness factor in [0.6, 1.4]: " + f);
        });
        Image c = Transforms.colorJitter(0, 0.4, 0).apply(img, new Generator(3));
        double mean = 0;
        for (float x : img.data()) mean += x;
        mean /= img.data().length;
        // contrast blends with the mean gray level: (y − m) = f (x − m) for one f
        double f = (c.data()[5] - mean) / (img.data()[5] - mean);
        for (int i = 0; i < img.data().length; i++) {
            boolean clamped = c.data()[i] <= 0 || c.data()[i] >= 1;
            if (Math.abs(img.data()[i] - mean) > 0.1 && !clamped) assertEquals(f, (c.data()[i] - mean) / (img.data()[i] - mean), 1e-4);
        }
        assertEquals(img, Transforms.colorJitter(0, 0, 0.5).apply(img, new Generator(4)), "saturation is a no-op on one channel");
        assertEquals(img, Transforms.randomGrayscale(1).apply(img, new Generator(4)), "grayscale is a no-op on one channel");
    }

    @Test
    void gaussianBlurKeepsAConstantImageAndSmoothsAnEdge() {
        float[] flat = new float[25];
        java.util.Arrays.fill(flat, 0.3f);
        Image constant = new Image(1, 5, 5, flat);
        Image b = Transforms.gaussianBlur(3, 0.1, 2.0).apply(constant, new Generator(1));
        for (float v : b.data()) assertEquals(0.3f, v, 1e-6f);
        float[] edge = new float[25];
        for (int y = 0; y < 5; y++) for (int x = 3; x < 5; x++) edge[y * 5 + x] = 1;
        Image e = Transforms.gaussianBlur(3, 1.9, 2.0).apply(new Image(1, 5, 5, edge), new Generator(2));
        assertTrue(e.at(0, 2, 2) > 0.2 && e.at(0, 2, 2) < 0.5, "the pixel before the edge takes some of it: " + e.at(0, 2, 2));
        assertTrue(e.at(0, 2, 3) < 1 && e.at(0, 2, 3) > 0.5, e.at(0, 2, 3) + "");
        assertEquals(1f, e.at(0, 2, 4), 1e-6f, "reflect padding at the border");
    }

    @Test
    void solarizeInvertsWhatLiesAboveTheThreshold() {
        Image img = new Image(1, 1, 4, new float[] {0.1f, 0.49f, 0.5f, 0.9f});
        assertArrayEquals(new float[] {0.1f, 0.49f, 0.5f, 0.1f}, Transforms.solarize(0.5).apply(img, null).data(), 1e-6f);
    }
}
