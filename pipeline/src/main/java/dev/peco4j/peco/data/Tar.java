package dev.peco4j.peco.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/**
 * Reads regular files out of a .tgz (an npm pack, for one): 512-byte ustar headers, octal sizes,
 * data padded to 512 bytes, two zero blocks at the end.
 */
public final class Tar {
    private Tar() {}

    /** The files whose names pass the filter, by name, in archive order. */
    public static Map<String, byte[]> read(Path tgz, Predicate<String> wanted) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tgz), 1 << 16))) {
            byte[] header = new byte[512];
            while (true) {
                int got = in.readNBytes(header, 0, 512);
                if (got == 0) break;
                if (got != 512) throw new IOException(tgz + ": truncated tar header");
                if (allZero(header)) break;
                String name = field(header, 0, 100);
                String prefix = field(header, 345, 155);
                if (!prefix.isEmpty()) name = prefix + "/" + name;
                long size;
                try {
                    size = Long.parseLong(field(header, 124, 12).trim(), 8);
                } catch (NumberFormatException e) {
                    throw new IOException(tgz + ": bad size field in the tar header of '" + name + "'");
                }
                char type = (char) header[156];
                long padded = (size + 511) / 512 * 512;
                if ((type == '0' || type == 0) && wanted.test(name)) {
                    if (size > Integer.MAX_VALUE - 8) throw new IOException(tgz + ": entry '" + name + "' is too large");
                    byte[] data = in.readNBytes((int) size);
                    if (data.length != size) throw new IOException(tgz + ": entry '" + name + "' is truncated");
                    out.put(name, data);
                    in.skipNBytes(padded - size);
                } else {
                    in.skipNBytes(padded);
                }
            }
        }
        return out;
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) end++;
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }
}
