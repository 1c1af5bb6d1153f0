package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.Generator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** RandAugment's ops against Pillow 9.4.0 (pipeline/src/test/python/randaugment_pil.py) on a 16×16 8-bit image. */
class RandAugmentTest {
    static Map<String, int[]> golden() throws Exception {
        Map<String, int[]> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of(RandAugmentTest.class.getResource("/fixtures/randaugment_pil.txt").toURI()))) {
            String[] p = line.split(" ");
            m.put(p[0], java.util.Arrays.stream(p[1].split(",")).mapToInt(Integer::parseInt).toArray());
        }
        return m;
    }

    @Test
    void everyOpMatchesPillow() throws Exception {
        Map<String, int[]> g = golden();
        float[] src = new float[256];
        for (int i = 0; i < 256; i++) src[i] = g.get("src")[i] / 255f;
        Image img = new Image(1, 16, 16, src);
        RandAugment ra = new RandAugment(2, 9, 0, 1, 73 / 255.0);
        for (var e : g.entrySet()) {
            if (e.getKey().equals("src") || e.getKey().startsWith("rgb:")) continue;
            RandAugment.Op op = RandAugment.Op.valueOf(e.getKey());
            int sign = op == RandAugment.Op.BRIGHTNESS || op == RandAugment.Op.TRANSLATE_Y ? -1 : 1;
            float[] out = ra.apply(op, img, 0.9, sign).data();
            // PIL computes in 8 bits, this in float: within a level; 1.5 for the blends with an intermediate 8-bit image (the smoothed
            // image of Sharpness, then a truncating blend), two for the resampled ops
            double tol = switch (op) {
                case SHEAR_X, TRANSLATE_Y, ROTATE -> 2.01;
                case SHARPNESS, CONTRAST -> 1.51;
                default -> 1.01;
            };
            for (int i = 0; i < 256; i++) {
                double d = Math.abs(out[i] * 255 - e.getValue()[i]);
                assertTrue(d <= tol, op + ": pixel " + i + " is " + out[i] * 255 + ", Pillow " + e.getValue()[i]);
            }
        }
    }

    @Test
    void onRgbColorAndContrastBlendWithPilsLumaAndTheFillIsPerChannel() throws Exception {
        Map<String, int[]> g = golden();
        float[] src = new float[768];
        for (int i = 0; i < 768; i++) src[i] = g.get("rgb:src")[i] / 255f;
        Image img = new Image(3, 16, 16, src);
        RandAugment ra = new RandAugment(2, 9, 0, 1, 73 / 255.0, 20 / 255.0, 200 / 255.0);
        for (RandAugment.Op op : new RandAugment.Op[] {RandAugment.Op.COLOR, RandAugment.Op.CONTRAST, RandAugment.Op.ROTATE}) {
            float[] out = ra.apply(op, img, 0.9, 1).data();
            int[] pil = g.get("rgb:" + op);
            double tol = op == RandAugment.Op.ROTATE ? 2.01 : 1.51;                  // as on one channel: an 8-bit truncating blend, bilinear sampling
            for (int i = 0; i < 768; i++) {
                double d = Math.abs(out[i] * 255 - pil[i]);
                assertTrue(d <= tol, op + ": value " + i + " (channel " + i / 256 + ") is " + out[i] * 255 + ", Pillow " + pil[i]);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new RandAugment(2, 9, 0, 1, 0.1, 0.2).apply(RandAugment.Op.ROTATE, img, 0.9, 1));
    }

    @Test
    void beitsStringParsesAndAppliesTwoOpsAtMostPerImage() {
        RandAugment ra = RandAugment.parse("rand-m9-mstd0.5-inc1", 0.3);
        Image img = new Image(1, 8, 8, new float[64]);
        for (int i = 0; i < 64; i++) img.data()[i] = i / 64f;
        int changed = 0;
        for (int i = 0; i < 50; i++) if (!java.util.Arrays.equals(img.data(), ra.apply(img, Generator.derive(1, i)).data())) changed++;
        assertTrue(changed > 25 && changed < 50, "about 3/4 of images get at least one op (each of 2 with p 0.5): " + changed);
        assertEquals(null, RandAugment.parse("none", 0));
        var e = assertThrows(IllegalArgumentException.class, () -> RandAugment.parse("rand-m9-x3-inc1", 0));
        assertTrue(e.getMessage().contains("unknown part 'x3'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RandAugment.parse("rand-m9", 0));
        assertTrue(e.getMessage().contains("inc1"), e.getMessage());
    }
}
