package dev.peco4j.peco.tokenizer;

import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * A PNG of what a codebook keeps: one column per image, rows of originals, reconstructions and code
 * maps (each code drawn in its own color, the same color for the same code everywhere), each cell
 * scaled up by an integer factor with nearest neighbours.
 */
public final class ReconstructionGrid {
    private ReconstructionGrid() {}

    /** Writes the grid of images (B, C, H, W) in [0, 1] through the tokenizer to png; returns (rows, columns). */
    public static int[] write(VQModel m, Tensor x01, int scale, Path png) throws IOException {
        m.eval();
        Tensor rec, codes;
        try (var ignored = Autograd.noGrad()) {
            VectorQuantizer.Result q = m.encode(x01.mul(2.0).sub(1.0));
            codes = q.indices();
            rec = m.decode(q.quantized()).clamp(-1, 1).add(1.0).mul(0.5);
        }
        int b = x01.size(0), c = x01.size(1), h = x01.size(2), w = x01.size(3), gap = 2;
        int cellW = w * scale, cellH = h * scale;
        BufferedImage img = new BufferedImage(b * (cellW + gap) + gap, 3 * (cellH + gap) + gap, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, 0xffffff);
        float[] orig = x01.contiguous().toFloatArray(), re = rec.contiguous().toFloatArray();
        int[] code = codes.toIntArray();
        int ch = codes.size(1), cw = codes.size(2);
        for (int i = 0; i < b; i++) {
            int x0 = gap + i * (cellW + gap);
            for (int y = 0; y < cellH; y++) {
                for (int x = 0; x < cellW; x++) {
                    int py = y / scale, px = x / scale;
                    img.setRGB(x0 + x, gap + y, rgb(orig, i, c, h, w, py, px));
                    img.setRGB(x0 + x, 2 * gap + cellH + y, rgb(re, i, c, h, w, py, px));
                    img.setRGB(x0 + x, 3 * gap + 2 * cellH + y, color(code[(i * ch + py * ch / h) * cw + px * cw / w]));
                }
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bytes);
        AtomicFiles.write(png, bytes.toByteArray());
        return new int[] {3, b};
    }

    private static int rgb(float[] v, int i, int c, int h, int w, int y, int x) {
        int[] px = new int[3];
        for (int k = 0; k < 3; k++) {
            int ck = c == 3 ? k : 0;                                                   // gray (or any other count): the first channel
            px[k] = Math.round(255 * Math.min(1, Math.max(0, v[((i * c + ck) * h + y) * w + x])));
        }
        return (px[0] << 16) | (px[1] << 8) | px[2];
    }

    /** A fixed, well-spread color for each code (golden-ratio hues, two brightness levels). */
    static int color(int code) {
        float hue = (float) ((code * 0.6180339887498949) % 1.0);
        return java.awt.Color.HSBtoRGB(hue, 0.75f, code % 2 == 0 ? 0.95f : 0.7f) & 0xffffff;
    }
}
