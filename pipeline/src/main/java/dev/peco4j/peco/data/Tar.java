package dev.peco4j.peco.data;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads regular files out of a .tgz (an npm pack, for one) with Apache Commons Compress: every tar
 * header's checksum is verified, and the gzip stream is read to its end, so its trailer (CRC-32 and
 * length of the whole archive) is checked too — a damaged archive is an error, never different
 * bytes. Entry sizes are checked against the bytes that actually arrive, not trusted to allocate.
 * Errors are IOExceptions naming the archive (and the entry).
 */
public final class Tar {
    /** The largest entry read into memory. */
    private static final long MAX_ENTRY = Integer.MAX_VALUE - 8;

    private Tar() {}

    /** The files whose names pass the filter, by name, in archive order. */
    public static Map<String, byte[]> read(Path tgz, Predicate<String> wanted) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tgz), 1 << 16)) {
            return read(in, tgz.toString(), wanted);
        }
    }

    /** The same from a stream; {@code name} names the archive in errors. */
    public static Map<String, byte[]> read(InputStream raw, String name, Predicate<String> wanted) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        String at = "the first header";
        try (GzipCompressorInputStream gz = new GzipCompressorInputStream(raw);
             TarArchiveInputStream tar = new TarArchiveInputStream(gz)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                at = "entry '" + e.getName() + "'";
                // Commons Compress computes the header checksum but leaves refusing a bad one to the caller
                if (!e.isCheckSumOK()) throw new IOException(name + ": " + at + ": the tar header's checksum does not match");
                boolean regular = e.isFile() && !e.isSymbolicLink() && !e.isLink();
                if (!regular || !wanted.test(e.getName())) continue;
                if (e.getSize() > MAX_ENTRY) throw new IOException(name + ": " + at + " claims " + e.getSize() + " bytes, more than " + MAX_ENTRY);
                out.put(e.getName(), readEntry(tar, e.getSize(), name, at));
            }
            at = "the end of the archive";
            gz.transferTo(java.io.OutputStream.nullOutputStream()); // past the tar's end blocks: the gzip trailer is verified when reached
        } catch (IOException | RuntimeException x) {
            if (x.getMessage() != null && x.getMessage().startsWith(name + ": ")) throw x;
            throw new IOException(name + ": corrupt or truncated .tgz at " + at + " (" + message(x) + ")", x);
        }
        return out;
    }

    /** An entry's bytes, in a buffer that grows with the data that arrives (a header cannot make us allocate). */
    private static byte[] readEntry(InputStream tar, long size, String name, String at) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream((int) Math.min(size, 1 << 16));
        long got = tar.transferTo(b);
        if (got != size) throw new IOException(name + ": " + at + " is truncated: " + got + " of " + size + " bytes");
        return b.toByteArray();
    }

    private static String message(Exception x) {
        if (x instanceof java.io.EOFException) return "unexpected end of the compressed data";
        return x.getMessage() == null ? x.getClass().getSimpleName() : x.getMessage();
    }
}
