package dev.peco4j.peco.data;

import dev.peco4j.nn.io.AtomicFiles;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * The IDX format of MNIST and Fashion-MNIST, gzip'd or not (detected from the gzip magic 1f 8b).
 * Layout: two zero bytes, a type code (0x08 = unsigned byte, the only type these datasets use),
 * the number of dimensions d, then d big-endian int32 sizes, then the data in row-major order.
 * Every read checks the magic, the sizes and that the data has exactly the advertised length (the
 * buffer grows with the bytes that arrive, so a forged header cannot make it allocate), verifies the
 * gzip trailer (CRC-32 and length), and names the file in its error.
 *
 * <pre>{@code
 * Idx.Array images = Idx.read(dir.resolve("train-images-idx3-ubyte.gz")); // dims [60000, 28, 28]
 * Idx.Array labels = Idx.read(dir.resolve("train-labels-idx1-ubyte.gz")); // dims [60000]
 * }</pre>
 */
public final class Idx {
    public static final int UBYTE = 0x08;
    /** No dataset this reader is for comes near it; guards against absurd headers before allocating. */
    private static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    private Idx() {}

    /** An IDX array of unsigned bytes: its sizes and data (row-major). */
    public record Array(int[] dims, byte[] data) {
        public int count() {
            return dims[0];
        }

        /** Elements per item: the product of dims[1..]. */
        public int itemSize() {
            int n = 1;
            for (int i = 1; i < dims.length; i++) n *= dims[i];
            return n;
        }
    }

    public static Array read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such IDX file");
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(raw, file.toString());
        }
    }

    /** Reads one IDX array from a stream; name is used in errors. */
    public static Array read(InputStream raw, String name) throws IOException {
        InputStream in = raw.markSupported() ? raw : new BufferedInputStream(raw);
        in.mark(2);
        int b0 = in.read(), b1 = in.read();
        in.reset();
        boolean gzip = b0 == 0x1f && b1 == 0x8b;
        try (InputStream s = gzip ? new GZIPInputStream(in, 1 << 16) : in) {
            byte[] head = readFully(s, 4, name, "the 4-byte magic number");
            if (head[0] != 0 || head[1] != 0) {
                throw new IOException(name + ": not an IDX file (magic number " + hex(head) + ", expected 00 00 08 0d)");
            }
            int type = head[2] & 0xff, d = head[3] & 0xff;
            if (type != UBYTE) {
                throw new IOException(name + ": IDX type code 0x" + Integer.toHexString(type) + " is not supported (expected 0x08, unsigned byte)");
            }
            if (d < 1 || d > 4) throw new IOException(name + ": IDX file with " + d + " dimensions (expected 1 to 4)");
            byte[] sizes = readFully(s, 4 * d, name, d + " dimension sizes");
            int[] dims = new int[d];
            long total = 1;
            for (int i = 0; i < d; i++) {
                dims[i] = ((sizes[4 * i] & 0xff) << 24) | ((sizes[4 * i + 1] & 0xff) << 16) | ((sizes[4 * i + 2] & 0xff) << 8) | (sizes[4 * i + 3] & 0xff);
                if (dims[i] < 0) throw new IOException(name + ": dimension " + i + " has negative size " + dims[i]);
                total *= dims[i];
                if (total > MAX_BYTES) throw new IOException(name + ": header announces " + Arrays.toString(dims) + "..., more than 2 GB of data");
            }
            byte[] data = readData(s, (int) total, name, "the data of " + Arrays.toString(dims) + " (" + total + " bytes)");
            if (s.read() != -1) throw new IOException(name + ": trailing bytes after the " + total + " bytes of data for " + Arrays.toString(dims));
            return new Array(dims, data);
        } catch (ZipException | EOFException e) {
            throw new IOException(name + ": corrupt gzip stream (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(name + ": ")) throw e;
            throw new IOException(name + ": " + e.getMessage(), e);
        }
    }

    /** SHA-256 of the array's uncompressed IDX encoding (header and data), as published for the datasets. */
    public static String sha256(Array a) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            md.update(new byte[] {0, 0, UBYTE, (byte) a.dims().length});
            for (int n : a.dims()) md.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
            md.update(a.data());
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes an unsigned-byte IDX array, gzip'd when the name ends in .gz; atomically. */
    public static void write(Path file, int[] dims, byte[] data) throws IOException {
        long total = 1;
        for (int n : dims) total *= n;
        if (total != data.length) {
            throw new IllegalArgumentException("IDX write " + file + ": dims " + Arrays.toString(dims) + " hold " + total + " bytes, data has " + data.length);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(file.toString().endsWith(".gz") ? new GZIPOutputStream(bytes) : bytes)) {
            out.write(new byte[] {0, 0, UBYTE, (byte) dims.length});
            for (int n : dims) out.writeInt(n);
            out.write(data);
        }
        AtomicFiles.write(file, bytes.toByteArray());
    }

    /**
     * Reads n bytes into a buffer that grows only as the bytes arrive: a header announcing billions
     * of items in a file of a few bytes ends as "truncated", without allocating what it claims.
     */
    private static byte[] readData(InputStream s, int n, String name, String what) throws IOException {
        byte[] b = new byte[Math.min(n, 1 << 20)];
        int got = 0;
        while (got < n) {
            if (got == b.length) b = Arrays.copyOf(b, (int) Math.min(n, 2L * b.length));
            int r = s.read(b, got, b.length - got);
            if (r < 0) throw new IOException(name + ": truncated: " + what + " need " + n + " bytes, found " + got);
            got += r;
        }
        return b;
    }

    private static byte[] readFully(InputStream s, int n, String name, String what) throws IOException {
        byte[] b = new byte[n];
        int got = s.readNBytes(b, 0, n);
        if (got != n) throw new IOException(name + ": truncated: " + what + " need " + n + " bytes, found " + got);
        return b;
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(sb.isEmpty() ? "" : " ").append(String.format("%02x", x & 0xff));
        return sb.toString();
    }
}
