package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;

class ImageChecksTest {
    @Test
    void validPngsGiveTheirHeader() throws IOException {
        int[] types = {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_INT_RGB, BufferedImage.TYPE_INT_ARGB,
                BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_BYTE_BINARY, BufferedImage.TYPE_BYTE_INDEXED};
        for (int type : types) {
            for (int[] size : new int[][] {{1, 1}, {13, 7}, {300, 200}}) {
                byte[] png = write(image(size[0], size[1], type), "png");
                if (type == BufferedImage.TYPE_BYTE_INDEXED) assertEquals(3, png[25], "colour type: palette");
                assertEquals(new ImageChecks.Header("png", size[0], size[1]), ImageChecks.check(png), "type " + type);
            }
        }
    }

    @Test
    void interlacedPngsGiveTheirHeader() throws IOException {
        for (int type : new int[] {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_INT_RGB, BufferedImage.TYPE_BYTE_BINARY}) {
            for (int w = 1; w <= 10; w++) {
                for (int h = 1; h <= 10; h++) {
                    byte[] png = interlaced(image(w, h, type));
                    assertEquals(1, png[28], "the IHDR says Adam7");
                    assertEquals(new ImageChecks.Header("png", w, h), ImageChecks.check(png), w + "x" + h + " type " + type);
                }
            }
        }
    }

    @Test
    void handWrittenPngsWithSeveralIdatsPass() throws IOException {
        // 5x3 RGB, 8 bit: 3 rows of (1 filter byte + 15 bytes), split over three IDAT chunks.
        byte[] z = deflate(new byte[3 * 16]);
        int third = z.length / 3;
        byte[] png = png(ihdr(5, 3, 8, 2, 0), Arrays.copyOfRange(z, 0, third), Arrays.copyOfRange(z, third, 2 * third),
                Arrays.copyOfRange(z, 2 * third, z.length));
        assertEquals(new ImageChecks.Header("png", 5, 3), ImageChecks.check(png));
        byte[][] oneByteEach = new byte[z.length][]; // the zlib stream cut at every possible place
        for (int i = 0; i < z.length; i++) oneByteEach[i] = new byte[] {z[i]};
        assertEquals(new ImageChecks.Header("png", 5, 3), ImageChecks.check(png(ihdr(5, 3, 8, 2, 0), oneByteEach)));
        // All the pixel data, but the zlib stream lacks the last byte of its Adler-32 checksum.
        IOException e = assertThrows(IOException.class, () -> ImageChecks.check(png(ihdr(5, 3, 8, 2, 0), Arrays.copyOf(z, z.length - 1))));
        assertTrue(e.getMessage().contains("zlib stream ends early"), e.getMessage());
        // Adam7 of 5x3 gray 8 bit: passes 1 (1x1), 2 (1x1), 4 (1x1), 5 (3x1), 6 (2x2), 7 (5x1): 2+2+2+4+2*3+6 bytes.
        assertEquals(new ImageChecks.Header("png", 5, 3), ImageChecks.check(png(ihdr(5, 3, 8, 0, 1), deflate(new byte[22]))));
        assertThrows(IOException.class, () -> ImageChecks.check(png(ihdr(5, 3, 8, 0, 1), deflate(new byte[21]))));
    }

    @Test
    void everyTruncatedPngIsRefused() throws IOException {
        byte[] png = write(image(20, 10, BufferedImage.TYPE_INT_RGB), "png");
        for (int n = 0; n < png.length; n++) {
            byte[] prefix = Arrays.copyOf(png, n);
            assertThrows(IOException.class, () -> ImageChecks.check(prefix), "prefix of " + n + " bytes");
        }
        IOException e = assertThrows(IOException.class, () -> ImageChecks.check(Arrays.copyOf(png, png.length - 12)));
        assertEquals("PNG: truncated: no IEND chunk", e.getMessage());
    }

    @Test
    void everyFlippedBytePastTheSignatureIsRefused() throws IOException {
        byte[] png = write(image(20, 10, BufferedImage.TYPE_BYTE_GRAY), "png");
        for (int i = 8; i < png.length; i++) {
            for (int bit : new int[] {0x01, 0x80}) {
                byte[] bad = png.clone();
                bad[i] ^= (byte) bit;
                assertThrows(IOException.class, () -> ImageChecks.check(bad), "byte " + i + " ^ " + bit);
            }
        }
        byte[] bad = png.clone();
        bad[8 + 8 + 3] ^= 1; // the IHDR's width
        IOException e = assertThrows(IOException.class, () -> ImageChecks.check(bad));
        assertTrue(e.getMessage().startsWith("PNG chunk IHDR at offset 8: CRC mismatch (stored 0x"), e.getMessage());
    }

    @Test
    void bytesAfterTheEndMarkerAreAccepted() throws IOException {
        byte[] trailer = "trailing garbage".getBytes(StandardCharsets.US_ASCII);
        byte[] png = concat(write(image(9, 4, BufferedImage.TYPE_INT_RGB), "png"), trailer);
        assertEquals(new ImageChecks.Header("png", 9, 4), ImageChecks.check(png));
        byte[] jpeg = concat(write(image(9, 4, BufferedImage.TYPE_INT_RGB), "jpeg"), trailer);
        assertEquals(new ImageChecks.Header("jpeg", 9, 4), ImageChecks.check(jpeg));
    }

    @Test
    void aPngClaimingHugeSizeWithTinyDataIsRefusedQuickly() {
        byte[] png = png(ihdr(32767, 32767, 8, 2, 0), deflate(new byte[1000]));
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThrows(IOException.class, () -> ImageChecks.check(png)));
        assertTrue(e.getMessage().contains("incomplete"), e.getMessage());
        byte[] truncatedStream = png(ihdr(32767, 32767, 8, 2, 0), Arrays.copyOf(deflate(new byte[100_000]), 50));
        assertThrows(IOException.class, () -> ImageChecks.check(truncatedStream));
    }

    @Test
    void aZipBombIsStoppedAtTheExpectedSize() {
        byte[] png = png(ihdr(1, 1, 8, 0, 0), deflate(new byte[20_000_000])); // ~20 kB deflating to 20 MB
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThrows(IOException.class, () -> ImageChecks.check(png)));
        assertTrue(e.getMessage().contains("more than the expected 2 bytes"), e.getMessage());
    }

    @Test
    void pngStructureRulesAreEnforced() {
        byte[] data = deflate(new byte[2]);
        assertThrows(IOException.class, () -> ImageChecks.check(png(ihdr(1, 1, 8, 3, 0), data)), "palette image without PLTE");
        assertThrows(IOException.class, () -> ImageChecks.check(png(ihdr(1, 1, 3, 2, 0), data)), "RGB at 3 bits");
        assertThrows(IOException.class, () -> ImageChecks.check(png(ihdr(0, 1, 8, 0, 0), data)), "width 0");
        assertThrows(IOException.class, () -> ImageChecks.check(png(ihdr(1, 1, 8, 0, 2), data)), "interlace 2");
        assertThrows(IOException.class, () -> ImageChecks.check(png(ihdr(1, 1, 8, 0, 0))), "no IDAT");
        byte[] split = chunks(chunk("IHDR", ihdr(1, 1, 8, 0, 0)), chunk("IDAT", new byte[0]), chunk("tEXt", new byte[] {'a', 0}),
                chunk("IDAT", data), chunk("IEND", new byte[0]));
        IOException e = assertThrows(IOException.class, () -> ImageChecks.check(split));
        assertTrue(e.getMessage().contains("not consecutive"), e.getMessage());
        byte[] textFirst = chunks(chunk("tEXt", new byte[] {'a', 0}), chunk("IHDR", ihdr(1, 1, 8, 0, 0)), chunk("IDAT", data), chunk("IEND", new byte[0]));
        assertThrows(IOException.class, () -> ImageChecks.check(textFirst));
    }

    @Test
    void validJpegGivesItsHeader() throws IOException {
        for (int type : new int[] {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_INT_RGB}) {
            assertEquals(new ImageChecks.Header("jpeg", 37, 21), ImageChecks.check(write(image(37, 21, type), "jpeg")));
        }
    }

    @Test
    void everyTruncatedJpegIsRefused() throws IOException {
        byte[] jpeg = write(image(40, 30, BufferedImage.TYPE_INT_RGB), "jpeg");
        for (int n = 0; n < jpeg.length; n++) {
            byte[] prefix = Arrays.copyOf(jpeg, n);
            assertThrows(IOException.class, () -> ImageChecks.check(prefix), "prefix of " + n + " bytes");
        }
        IOException e = assertThrows(IOException.class, () -> ImageChecks.check(Arrays.copyOf(jpeg, jpeg.length - 2)));
        assertTrue(e.getMessage().startsWith("JPEG: truncated: no EOI marker (end of image) after the scan at offset "), e.getMessage());
    }

    @Test
    void jpegStructureRulesAreEnforced() throws IOException {
        byte[] soi = bytes(0xFF, 0xD8), eoi = bytes(0xFF, 0xD9);
        byte[] sof = bytes(0xFF, 0xC0, 0, 11, 8, 0, 16, 0, 24, 1, 1, 0x11, 0); // 24x16, one component
        byte[] sos = bytes(0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0);
        byte[] scan = bytes(0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF); // a stuffed byte, RST0, a fill byte
        assertEquals(new ImageChecks.Header("jpeg", 24, 16), ImageChecks.check(concat(soi, sof, sos, scan, eoi)));
        assertEquals(new ImageChecks.Header("jpeg", 24, 16), ImageChecks.check(concat(soi, sof, sos, scan, sos, scan, eoi)), "two scans");
        assertThrows(IOException.class, () -> ImageChecks.check(concat(soi, sof, eoi)), "no scan");
        assertThrows(IOException.class, () -> ImageChecks.check(concat(soi, sos, scan, sof, eoi)), "scan before frame");
        byte[] noWidth = sof.clone();
        noWidth[8] = 0;
        assertThrows(IOException.class, () -> ImageChecks.check(concat(soi, noWidth, sos, scan, eoi)), "width 0");
        byte[] badLength = sof.clone();
        badLength[3] = 14;
        assertThrows(IOException.class, () -> ImageChecks.check(concat(soi, badLength, bytes(0, 0, 0), sos, scan, eoi)), "SOF length");
    }

    @Test
    void aJpegClaimingHugeSizeReturnsItsHeaderWithoutDecoding() throws IOException {
        byte[] jpeg = write(image(8, 8, BufferedImage.TYPE_BYTE_GRAY), "jpeg");
        int sof = indexOf(jpeg, (byte) 0xFF, (byte) 0xC0);
        jpeg[sof + 5] = 0x7F; // height, then width, after the length and precision
        jpeg[sof + 6] = (byte) 0xFF;
        jpeg[sof + 7] = 0x7F;
        jpeg[sof + 8] = (byte) 0xFF;
        ImageChecks.Header h = ImageChecks.check(jpeg);
        assertEquals(new ImageChecks.Header("jpeg", 32767, 32767), h);
        assertEquals(32767L * 32767, h.pixels());
    }

    @Test
    void otherFormatsGoThroughImageIO() throws IOException {
        assertEquals(new ImageChecks.Header("bmp", 11, 6), ImageChecks.check(write(image(11, 6, BufferedImage.TYPE_INT_RGB), "bmp")));
        assertEquals(new ImageChecks.Header("gif", 5, 9), ImageChecks.check(write(image(5, 9, BufferedImage.TYPE_INT_RGB), "gif")));
        IOException e = assertThrows(IOException.class, () -> ImageChecks.check("hello, world".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("not an image format ImageIO can read", e.getMessage());
        assertThrows(IOException.class, () -> ImageChecks.check(new byte[0]));
    }

    @Test
    void randomMutationsOnlyEverThrowIOException() throws IOException {
        byte[][] seeds = {write(image(16, 9, BufferedImage.TYPE_INT_RGB), "png"), interlaced(image(7, 5, BufferedImage.TYPE_BYTE_GRAY)),
                write(image(16, 9, BufferedImage.TYPE_INT_RGB), "jpeg"), write(image(6, 5, BufferedImage.TYPE_INT_RGB), "bmp"),
                write(image(6, 5, BufferedImage.TYPE_INT_RGB), "gif")};
        Random random = new Random(42);
        for (int i = 0; i < 3000; i++) {
            byte[] f = mutate(seeds[i % seeds.length], random);
            try {
                ImageChecks.check(f);
            } catch (IOException expected) {
                // refused: fine
            } catch (RuntimeException e) {
                fail("mutation " + i + " threw " + e, e);
            }
        }
    }

    // ---- helpers ----

    static byte[] mutate(byte[] seed, Random r) {
        byte[] f = seed.clone();
        int n = 1 + r.nextInt(3);
        for (int k = 0; k < n && f.length > 0; k++) {
            int at = r.nextInt(f.length);
            switch (r.nextInt(5)) {
                case 0 -> f[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> f = Arrays.copyOf(f, at);
                case 2 -> {
                    if (at + 4 <= f.length) ByteBuffer.wrap(f, at, 4).putInt(r.nextBoolean() ? r.nextInt() : r.nextInt(70_000) - 5);
                }
                case 3 -> {
                    byte[] g = new byte[f.length + 1 + r.nextInt(8)];
                    System.arraycopy(f, 0, g, 0, at);
                    for (int j = at; j < g.length - f.length + at; j++) g[j] = (byte) r.nextInt(256);
                    System.arraycopy(f, at, g, g.length - f.length + at, f.length - at);
                    f = g;
                }
                default -> f[at] = (byte) r.nextInt(256);
            }
        }
        return f;
    }

    private static BufferedImage image(int w, int h, int type) {
        BufferedImage bi = new BufferedImage(w, h, type);
        Random r = new Random(w * 31L + h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) bi.setRGB(x, y, r.nextInt());
        }
        return bi;
    }

    private static byte[] write(BufferedImage bi, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(bi, format, out), "ImageIO writes " + format);
        return out.toByteArray();
    }

    /** ImageIO's PNG writer writes Adam7 interlaced PNGs in progressive mode. */
    private static byte[] interlaced(BufferedImage bi) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(bi, null, null), param);
        } finally {
            writer.dispose();
        }
        byte[] png = out.toByteArray();
        BufferedImage back = ImageIO.read(new ByteArrayInputStream(png));
        assertArrayEquals(new int[] {bi.getWidth(), bi.getHeight()}, new int[] {back.getWidth(), back.getHeight()});
        return png;
    }

    static byte[] ihdr(int width, int height, int bitDepth, int colourType, int interlace) {
        return ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) bitDepth).put((byte) colourType).put((byte) 0).put((byte) 0)
                .put((byte) interlace).array();
    }

    /** A PNG of the given IHDR data and IDAT chunks. */
    static byte[] png(byte[] ihdr, byte[]... idats) {
        byte[][] all = new byte[idats.length + 2][];
        all[0] = chunk("IHDR", ihdr);
        for (int i = 0; i < idats.length; i++) all[i + 1] = chunk("IDAT", idats[i]);
        all[all.length - 1] = chunk("IEND", new byte[0]);
        return chunks(all);
    }

    static byte[] chunks(byte[]... chunks) {
        byte[] out = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        for (byte[] c : chunks) out = concat(out, c);
        return out;
    }

    static byte[] chunk(String type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(12 + data.length).putInt(data.length).put(type.getBytes(StandardCharsets.US_ASCII)).put(data);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 4, 4 + data.length);
        return b.putInt((int) crc.getValue()).array();
    }

    static byte[] deflate(byte[] raw) {
        Deflater d = new Deflater(9);
        d.setInput(raw);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        while (!d.finished()) out.write(buf, 0, d.deflate(buf));
        d.end();
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) values[i];
        return b;
    }

    private static int indexOf(byte[] f, byte a, byte b) {
        for (int i = 0; i + 1 < f.length; i++) {
            if (f[i] == a && f[i + 1] == b) return i;
        }
        throw new AssertionError("marker not found");
    }
}
