package dev.peco4j.peco.perceptual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.peco4j.peco.data.Image;
import dev.peco4j.peco.data.ImageFolder;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java port of nsfwjs's MobileNetV2 against the golden outputs of ../shared/docs/data-sources.md
 * §3.1 (tfjs 4.22, images /255 resized with tf.image.resizeBilinear's defaults). Needs
 * data/npm/nsfwjs-4.4.0.tgz and data/skimage/ (scripts/setup-data.sh); skips without them.
 */
class MobileNetV2Test {
    static MobileNetV2 net;

    static Path data(String rel) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("data").resolve(rel))) return p.resolve("data").resolve(rel);
        }
        return Path.of("data").resolve(rel);
    }

    @BeforeAll
    static void load() throws Exception {
        Path tgz = data("npm/nsfwjs-4.4.0.tgz");
        assumeTrue(Files.isRegularFile(tgz), "nsfwjs not installed (bash scripts/setup-data.sh)");
        net = MobileNetV2.nsfwjs(tgz);
    }

    /**
     * tf.image.resizeBilinear with tfjs's defaults (alignCorners false, halfPixelCenters false): the
     * source of output pixel r is r · in/out, interpolated between floor and ceil (clamped).
     */
    static Tensor tfjsResize(Image img, int size) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] out = new float[c * size * size];
        double sy = (double) h / size, sx = (double) w / size;
        for (int y = 0; y < size; y++) {
            double fy = y * sy;
            int y0 = (int) Math.floor(fy), y1 = Math.min(h - 1, (int) Math.ceil(fy));
            double dy = fy - y0;
            for (int x = 0; x < size; x++) {
                double fx = x * sx;
                int x0 = (int) Math.floor(fx), x1 = Math.min(w - 1, (int) Math.ceil(fx));
                double dx = fx - x0;
                for (int ch = 0; ch < c; ch++) {
                    double tl = img.at(ch, y0, x0), tr = img.at(ch, y0, x1), bl = img.at(ch, y1, x0), br = img.at(ch, y1, x1);
                    double top = tl + (tr - tl) * dx, bottom = bl + (br - bl) * dx;
                    out[(ch * size + y) * size + x] = (float) (top + (bottom - top) * dy);
                }
            }
        }
        return Tensor.of(out, 1, c, size, size);
    }

    /** SHA-256 of the files behind the golden outputs (python3-skimage 0.19.3-8; rocket as jpeg-js 0.4.4 decodes it). */
    static final java.util.Map<String, String> SHA256 = java.util.Map.of(
            "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
            "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
            "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
            "rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
            "rocket.jpeg-js.rgb", "653b26a997ff4768b1b6635ed66ecee03f880ae478fae1b30d5f63800338532c");

    static Path sample(String file) throws Exception {
        Path f = data("skimage/" + file);
        assumeTrue(Files.isRegularFile(f), f + " not installed (bash scripts/setup-data.sh)");
        String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        assertEquals(SHA256.get(file), sha, f + " is not the file the golden outputs were made from");
        return f;
    }

    record Top(String label, float p) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%s %.5f", label, p);
        }
    }

    /** The top class and its probability for one image in [0, 1], resized as tfjs does. */
    private static Top classify(Image img) {
        float[] v;
        try (var ignored = Autograd.noGrad()) {
            v = net.forward(tfjsResize(img, 224)).toFloatArray();
        }
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return new Top(MobileNetV2.NSFWJS_CLASSES.get(best), v[best]);
    }

    private static void golden(String file, Image img, String cls, double p) {
        Top got = classify(img);
        System.out.printf("nsfwjs MobileNetV2 on %s: %s (tfjs: %s %.3f)%n", file, got, cls, p);
        assertEquals(cls, got.label(), file);
        assertEquals(p, got.p(), 0.0005, file + ": to 3 decimals");
    }

    private static void golden(String file, String cls, double p) throws Exception {
        golden(file, ImageFolder.decode(sample(file), 3), cls, p);
    }

    @Test
    void coffee() throws Exception {
        golden("coffee.png", "Neutral", 0.993);
    }

    @Test
    void chelsea() throws Exception {
        golden("chelsea.png", "Neutral", 0.919);
    }

    @Test
    void astronaut() throws Exception {
        golden("astronaut.png", "Neutral", 0.956);
    }

    /**
     * The golden output was made from jpeg-js's decoding of rocket.jpg (setup-data.sh writes it as
     * raw RGB). ImageIO decodes the same file to other pixels (both of its JPEG readers convert the
     * embedded ICC profile to sRGB: up to 55 levels apart from libjpeg's and jpeg-js's raw values),
     * and this image's probability is so sensitive (±1 level of noise moves it between 0.76 and 0.81)
     * that only the reference's pixels can reproduce it; ImageIO's still give the same class.
     */
    @Test
    void rocket() throws Exception {
        Path rgb = sample("rocket.jpeg-js.rgb");
        byte[] b = Files.readAllBytes(rgb);
        int w = 640, h = 427;
        assertEquals(3 * w * h, b.length);
        float[] chw = new float[b.length];
        for (int i = 0; i < w * h; i++) for (int c = 0; c < 3; c++) chw[c * w * h + i] = (b[3 * i + c] & 0xff) / 255f;
        golden("rocket.jpg (jpeg-js pixels)", new Image(3, h, w, chw), "Drawing", 0.773);
        Top viaImageIO = classify(ImageFolder.decode(sample("rocket.jpg"), 3));
        System.out.println("nsfwjs MobileNetV2 on rocket.jpg decoded by ImageIO: " + viaImageIO);
        assertEquals("Drawing", viaImageIO.label());
    }

    @Test
    void theFirstWeightsAreTfjssDequantizedValues() {
        // data-sources.md §3.1: Conv1/kernel[0..2] = -0.220003, -0.433339, 0.066668 (HWIO order, here OIHW: [o][i][h][w])
        Tensor k = net.namedParameters().get("Conv1.weight");                // (32, 3, 3, 3) = HWIO permuted
        float[] hwio = k.permute(2, 3, 1, 0).contiguous().toFloatArray();
        assertEquals(-0.220003, hwio[0], 1e-6);
        assertEquals(-0.433339, hwio[1], 1e-6);
        assertEquals(0.066668, hwio[2], 1e-6);
    }

    @Test
    void featureTapsHaveTheirStridesAndOnlyImageNetLayersAreTapped() {
        Tensor x = Tensor.randn(new Generator(1), 1, 3, 64, 64).clamp(-1, 1);
        List<Tensor> maps;
        try (var ignored = Autograd.noGrad()) {
            maps = net.features(x, MobileNetV2.DEFAULT_TAPS);
        }
        assertEquals("[1, 16, 32, 32]", maps.get(0).shape().toString());
        assertEquals("[1, 24, 16, 16]", maps.get(1).shape().toString());
        assertEquals("[1, 32, 8, 8]", maps.get(2).shape().toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.features(x, List.of("block_11_add")));
        assertTrue(e.getMessage().startsWith("MobileNetV2: layer 'block_11_add' was fine-tuned by nsfwjs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> net.features(x, List.of("block_2_addd")));
        assertEquals("MobileNetV2: no layer 'block_2_addd' (Keras names such as expanded_conv_project_BN, block_2_add, block_5_add)", e.getMessage());
        assertEquals(158, net.layerNames().size(), "Keras's 162 layers less input_1, flatten_1 (part of average_pooling2d_1) and the two "
                + "Dropouts: " + net.layerNames());
    }
}
