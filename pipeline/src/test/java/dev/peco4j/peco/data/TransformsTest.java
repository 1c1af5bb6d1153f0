package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.testing.Property;
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
        Image half = Transforms.resizeRegion(row, 0, 0, 1, 4, 1, 2);
        assertArrayEquals(new float[] {0.5f, 2.5f}, half.data(), 1e-6f); // align_corners=False samples at 0.5 and 2.5
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
}
