package dev.peco4j.peco.data;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Checks an image file before ImageIO decodes it. ImageIO is lenient where it should not be: its
 * PNG reader ignores CRCs and fills truncated pixel data with zeros, and a JPEG without its end
 * marker decodes "successfully" with a grey or black lower part. So {@link #check} verifies the
 * whole structure of PNG (chunk CRCs, a complete zlib stream of exactly the expected size) and
 * JPEG (markers from SOI to EOI), and returns the dimensions read from the header, so a caller can
 * refuse a decompression bomb (a 565-byte JPEG can claim 32767x32767 pixels) before decoding it.
 * Other formats (BMP, GIF, ...) only get their dimensions, through an ImageIO reader's header.
 */
public final class ImageChecks {
    private ImageChecks() {}

    /** Width and height read from the header, and the format name ("png", "jpeg", or ImageIO's format name for others). */
    public record Header(String format, int width, int height) {
        public long pixels() {
            return (long) width * height;
        }
    }

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    /** Adam7 passes as {xStart, yStart, xStep, yStep}. */
    private static final int[][] ADAM7 = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

    /**
     * Checks the whole file's structure (PNG: every chunk's CRC, IHDR first, IDAT zlib stream
     * complete and of exactly the expected inflated length, IEND present; JPEG: marker structure
     * from SOI to EOI) and returns its header. Other formats: dimensions through an ImageIO reader,
     * without decoding pixels. The IOException's message says what is wrong, without the file name.
     */
    public static Header check(byte[] file) throws IOException {
        return check(file, Long.MAX_VALUE);
    }

    /**
     * As {@link #check(byte[])}, and refuses an image of more than {@code maxPixels} pixels as soon
     * as its header is read (before the pixel data is inflated or scanned).
     */
    public static Header check(byte[] file, long maxPixels) throws IOException {
        if (file.length == 0) throw new IOException("empty file");
        if (file.length >= 8 && Arrays.equals(file, 0, 8, PNG_SIGNATURE, 0, 8)) return checkPng(file, maxPixels);
        if (file.length >= 2 && (file[0] & 0xFF) == 0xFF && (file[1] & 0xFF) == 0xD8) return checkJpeg(file, maxPixels);
        return withinLimit(viaImageIO(file), maxPixels);
    }

    private static Header withinLimit(Header h, long maxPixels) throws IOException {
        if (h.pixels() > maxPixels) {
            throw new ImageTooLargeException(h.format().toUpperCase(Locale.ROOT) + " of " + h.width() + "x" + h.height() + " = " + h.pixels()
                    + " pixels exceeds the limit of " + maxPixels + " pixels");
        }
        return h;
    }

    /** An image refused by its pixel count (a possible decompression bomb) before decoding. */
    public static final class ImageTooLargeException extends IOException {
        ImageTooLargeException(String message) {
            super(message);
        }
    }

    // ---- PNG ----

    private static Header checkPng(byte[] f, long maxPixels) throws IOException {
        Header header = null;
        int colourType = 0;
        boolean palette = false, idatEnded = false;
        IdatCounter idat = null;
        try {
            for (int pos = 8; ; ) {
                if (pos == f.length) throw new IOException("PNG: truncated: no IEND chunk");
                if (f.length - pos < 12) throw new IOException("PNG: truncated: chunk at offset " + pos + " is cut off");
                long length = u32(f, pos);
                String type = chunkType(f, pos);
                String where = "PNG chunk " + type + " at offset " + pos;
                if (length > Integer.MAX_VALUE) throw new IOException(where + ": length " + length + " exceeds 2^31-1");
                long left = f.length - pos - 12L;
                if (length > left) throw new IOException(where + ": truncated: needs " + length + " data bytes, " + left + " left");
                int data = pos + 8, len = (int) length;
                checkCrc(f, pos + 4, len, where);
                if (header == null && !type.equals("IHDR")) throw new IOException(where + ": the first chunk must be IHDR");
                if (idat != null && idat.seen && !type.equals("IDAT")) idatEnded = true;
                switch (type) {
                    case "IHDR" -> {
                        if (header != null) throw new IOException(where + ": a second IHDR");
                        header = withinLimit(readIhdr(f, data, len, where), maxPixels);
                        colourType = f[data + 9];
                        idat = new IdatCounter(expectedPixelBytes(f, data));
                    }
                    case "PLTE" -> palette = true;
                    case "IDAT" -> {
                        if (idatEnded) throw new IOException(where + ": IDAT chunks are not consecutive");
                        if (colourType == 3 && !palette) throw new IOException(where + ": colour type 3 needs a PLTE chunk before IDAT");
                        idat.feed(f, data, len, where);
                    }
                    case "IEND" -> {
                        idat.finish();
                        return header;
                    }
                    default -> {} // ancillary and private chunks: their CRC is all we check
                }
                pos = data + len + 4;
            }
        } finally {
            if (idat != null) idat.inflater.end();
        }
    }

    private static String chunkType(byte[] f, int pos) throws IOException {
        for (int i = pos + 4; i < pos + 8; i++) {
            int c = f[i] & 0xFF;
            boolean letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            if (!letter) throw new IOException(String.format("PNG: chunk at offset %d: invalid chunk type (byte 0x%02x)", pos, c));
        }
        return new String(f, pos + 4, 4, StandardCharsets.US_ASCII);
    }

    /** The CRC covers the chunk type and data: from typeAt over 4 + len bytes, stored right after. */
    private static void checkCrc(byte[] f, int typeAt, int len, String where) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(f, typeAt, 4 + len);
        long stored = u32(f, typeAt + 4 + len);
        if (stored != crc.getValue()) {
            throw new IOException(String.format("%s: CRC mismatch (stored 0x%08x, computed 0x%08x)", where, stored, crc.getValue()));
        }
    }

    private static Header readIhdr(byte[] f, int d, int len, String where) throws IOException {
        if (len != 13) throw new IOException(where + ": length " + len + ", must be 13");
        long width = u32(f, d), height = u32(f, d + 4);
        int depth = f[d + 8], colourType = f[d + 9];
        if (width < 1 || width > Integer.MAX_VALUE || height < 1 || height > Integer.MAX_VALUE) {
            throw new IOException(where + ": invalid size " + width + "x" + height);
        }
        int[] depths = switch (colourType) {
            case 0 -> new int[] {1, 2, 4, 8, 16};
            case 2, 4, 6 -> new int[] {8, 16};
            case 3 -> new int[] {1, 2, 4, 8};
            default -> throw new IOException(where + ": invalid colour type " + colourType);
        };
        if (Arrays.stream(depths).noneMatch(x -> x == depth)) {
            throw new IOException(where + ": bit depth " + depth + " is invalid for colour type " + colourType);
        }
        if (f[d + 10] != 0 || f[d + 11] != 0) throw new IOException(where + ": unknown compression or filter method");
        if (f[d + 12] != 0 && f[d + 12] != 1) throw new IOException(where + ": unknown interlace method " + f[d + 12]);
        return new Header("png", (int) width, (int) height);
    }

    /** The inflated IDAT size: per row (or per Adam7 pass row) one filter byte and the packed pixels. */
    private static long expectedPixelBytes(byte[] f, int d) throws IOException {
        long width = u32(f, d), height = u32(f, d + 4);
        int channels = switch (f[d + 9]) { case 2 -> 3; case 4 -> 2; case 6 -> 4; default -> 1; };
        int bitsPerPixel = channels * f[d + 8];
        try {
            if (f[d + 12] == 0) return passBytes(width, height, bitsPerPixel);
            long sum = 0;
            for (int[] p : ADAM7) {
                long cols = width > p[0] ? (width - p[0] + p[2] - 1) / p[2] : 0;
                long rows = height > p[1] ? (height - p[1] + p[3] - 1) / p[3] : 0;
                sum = Math.addExact(sum, passBytes(cols, rows, bitsPerPixel));
            }
            return sum;
        } catch (ArithmeticException e) {
            throw new IOException("PNG: image size " + width + "x" + height + " is absurdly large");
        }
    }

    private static long passBytes(long cols, long rows, int bitsPerPixel) {
        if (cols == 0 || rows == 0) return 0;
        long rowBytes = (cols * bitsPerPixel + 7) / 8; // cols < 2^31, bitsPerPixel <= 64: no overflow
        return Math.multiplyExact(rows, 1 + rowBytes);
    }

    /** Inflates the IDAT zlib stream chunk by chunk into a scratch buffer, counting bytes instead of keeping them. */
    private static final class IdatCounter {
        final Inflater inflater = new Inflater();
        final byte[] scratch = new byte[16384];
        final long expected;
        long count;
        boolean seen;

        IdatCounter(long expected) {
            this.expected = expected;
        }

        void feed(byte[] f, int off, int len, String where) throws IOException {
            seen = true;
            if (inflater.finished()) return; // bytes after the end of the zlib stream are ignored
            inflater.setInput(f, off, len);
            try {
                while (!inflater.finished() && !inflater.needsInput()) {
                    int n = inflater.inflate(scratch);
                    count += n;
                    // Stop early: a tiny IDAT can inflate to gigabytes (zip bomb).
                    if (count > expected) throw new IOException(where + ": pixel data inflates to more than the expected " + expected + " bytes");
                    if (n == 0 && inflater.needsDictionary()) throw new IOException(where + ": zlib stream needs a preset dictionary");
                    if (n == 0 && !inflater.finished() && !inflater.needsInput()) throw new IOException(where + ": zlib stream makes no progress");
                }
            } catch (DataFormatException e) {
                throw new IOException(where + ": corrupt zlib data (" + e.getMessage() + ")", e);
            }
        }

        void finish() throws IOException {
            if (!seen) throw new IOException("PNG: no IDAT chunk");
            if (!inflater.finished()) throw new IOException("PNG: truncated: the IDAT zlib stream ends early (" + count + " of " + expected + " bytes)");
            if (count != expected) throw new IOException("PNG: incomplete: pixel data inflates to " + count + " bytes, expected " + expected);
        }
    }

    // ---- JPEG ----

    private static Header checkJpeg(byte[] f, long maxPixels) throws IOException {
        Header header = null;
        boolean scan = false;
        int pos = 2;
        while (true) {
            if (pos >= f.length) throw new IOException("JPEG: truncated: no EOI marker (end of image) at offset " + pos);
            if ((f[pos] & 0xFF) != 0xFF) throw new IOException(String.format("JPEG: expected a marker at offset %d, found 0x%02x", pos, f[pos]));
            int at = pos;
            while (pos < f.length && (f[pos] & 0xFF) == 0xFF) pos++; // fill bytes
            if (pos >= f.length) throw new IOException("JPEG: truncated: marker at offset " + at + " is cut off");
            int code = f[pos++] & 0xFF;
            String where = String.format("JPEG marker 0xFF%02X at offset %d", code, at);
            if (code == 0xD9) {
                if (header == null || !scan) throw new IOException(where + ": EOI without " + (header == null ? "a frame (SOF)" : "a scan (SOS)"));
                return header;
            }
            if (code == 0x01 || (code >= 0xD0 && code <= 0xD7)) continue; // standalone: TEM, RST0-7
            if (code == 0x00 || code == 0xD8) throw new IOException(where + ": unexpected marker");
            if (f.length - pos < 2) throw new IOException(where + ": truncated: segment length is cut off");
            int len = u16(f, pos);
            if (len < 2) throw new IOException(where + ": invalid segment length " + len);
            if (len > f.length - pos) throw new IOException(where + ": truncated: segment of " + len + " bytes, " + (f.length - pos) + " left");
            if (isSof(code) && header == null) header = withinLimit(readSof(f, pos, len, where), maxPixels);
            pos += len;
            if (code == 0xDA) {
                if (header == null) throw new IOException(where + ": scan (SOS) before the frame header (SOF)");
                scan = true;
                pos = skipEntropyCoded(f, pos, at);
            }
        }
    }

    private static boolean isSof(int code) {
        return code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 && code != 0xCC; // not DHT, JPG, DAC
    }

    private static Header readSof(byte[] f, int pos, int len, String where) throws IOException {
        if (len < 8) throw new IOException(where + ": frame header (SOF) too short");
        int height = u16(f, pos + 3), width = u16(f, pos + 5), components = f[pos + 7] & 0xFF;
        if (components < 1 || len != 8 + 3 * components) throw new IOException(where + ": length " + len + " is wrong for " + components + " components");
        if (width == 0) throw new IOException(where + ": width 0");
        if (height == 0) throw new IOException(where + ": height 0 (defined later by a DNL marker) is not supported");
        return new Header("jpeg", width, height);
    }

    /** Returns the offset of the marker that ends the entropy-coded data after a scan header. */
    private static int skipEntropyCoded(byte[] f, int pos, int scanAt) throws IOException {
        for (int i = pos; i + 1 < f.length; i++) {
            if ((f[i] & 0xFF) != 0xFF) continue;
            int next = f[i + 1] & 0xFF;
            // FF00 is a stuffed data byte, FFD0-FFD7 a restart marker, FFFF a fill byte before a marker.
            if (next != 0x00 && next != 0xFF && (next < 0xD0 || next > 0xD7)) return i;
        }
        throw new IOException("JPEG: truncated: no EOI marker (end of image) after the scan at offset " + scanAt);
    }

    // ---- other formats ----

    private static Header viaImageIO(byte[] f) throws IOException {
        // A memory cache: ImageIO.createImageInputStream would write a temporary file when ImageIO.getUseCache().
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(f))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new IOException("not an image format ImageIO can read");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int width = reader.getWidth(0), height = reader.getHeight(0);
                if (width < 1 || height < 1) throw new IOException("invalid size " + width + "x" + height);
                return new Header(reader.getFormatName().toLowerCase(Locale.ROOT), width, height);
            } finally {
                reader.dispose();
            }
        } catch (RuntimeException | IOException e) {
            // ImageIO readers throw runtime exceptions on damaged headers, and EOFException without a message.
            if (e instanceof IOException io && e.getMessage() != null) throw io;
            throw new IOException("cannot read the image header (" + e + ")", e);
        }
    }

    private static long u32(byte[] f, int i) {
        return ((f[i] & 0xFFL) << 24) | ((f[i + 1] & 0xFF) << 16) | ((f[i + 2] & 0xFF) << 8) | (f[i + 3] & 0xFF);
    }

    private static int u16(byte[] f, int i) {
        return ((f[i] & 0xFF) << 8) | (f[i + 1] & 0xFF);
    }
}
