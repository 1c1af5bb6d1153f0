package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Predicate;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 9's hostile data files, one regression test each: every one is refused with an error naming the file. */
class HostileInputTest {
    @TempDir
    Path dir;

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, bytes);
        return p;
    }

    @Test
    void aTinyGzipIdxClaimingBillionsOfLabelsIsTruncatedNotAnOutOfMemoryError() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(b)) {
            g.write(new byte[] {0, 0, 8, 1, 0x71, 0x3f, (byte) 0xb3, 0}); // 1,900,000,000 labels, no data
        }
        Path f = write("labels-idx1-ubyte.gz", b.toByteArray());
        assertTrue(Files.size(f) <= 31, "a " + Files.size(f) + "-byte file");
        IOException e = assertThrows(IOException.class, () -> Idx.read(f));
        assertEquals(f + ": truncated: the data of [1900000000] (1900000000 bytes) need 1900000000 bytes, found 0", e.getMessage());
    }

    /** A valid JPEG with its frame header (SOF0) rewritten to claim w × h pixels. */
    static byte[] jpegClaiming(int w, int h) throws IOException {
        byte[] jpg = ReadersFuzzTest.image("jpeg", 8, 8);
        for (int i = 2; i + 8 < jpg.length; i++) {
            if ((jpg[i] & 0xff) == 0xff && (jpg[i + 1] & 0xff) == 0xc0) {
                jpg[i + 5] = (byte) (h >> 8);
                jpg[i + 6] = (byte) h;
                jpg[i + 7] = (byte) (w >> 8);
                jpg[i + 8] = (byte) w;
                return jpg;
            }
        }
        throw new AssertionError("no SOF0 in the JPEG ImageIO wrote");
    }

    @Test
    void aSmallJpegClaiming32767x32767PixelsIsRefusedBeforeDecodingAndSkippable() throws Exception {
        byte[] bomb = jpegClaiming(32767, 32767);
        assertTrue(bomb.length < 1000, bomb.length + " bytes");
        Path root = dir.resolve("bomb");
        Path bad = write("bomb/a/bomb.jpg", bomb);
        write("bomb/a/good.png", ReadersFuzzTest.image("png", 8, 8));
        CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageFolder.decode(bad, 3));
        assertEquals(bad + ": cannot decode image (JPEG of 32767x32767 = 1073676289 pixels exceeds the limit of 89478485 pixels)", e.getMessage());

        // with OnError.SKIP the loader leaves it out, naming it
        ImageFolder folder = new ImageFolder(root, 3);
        try (DataLoader loader = new DataLoader(folder, Transform.compose(), 0, DataLoader.Config.eval(2).onError(DataLoader.OnError.SKIP));
             DataLoader.Epoch it = loader.epoch(0, 0)) {
            DataLoader.Batch batch = it.next();
            assertEquals(1, batch.size());
            assertEquals(1, batch.skipped());
        }
    }

    @Test
    void truncatedAndCorruptPngsAndAJpegWithoutItsEndMarkerAreRefused() throws Exception {
        byte[] png = ReadersFuzzTest.image("png", 16, 12), jpg = ReadersFuzzTest.image("jpeg", 16, 12);
        Path cut = write("cut.png", Arrays.copyOf(png, png.length - 20));
        assertTrue(message(cut).startsWith(cut + ": cannot decode image (PNG"), message(cut));
        byte[] crc = png.clone();
        crc[40] ^= 1; // inside IHDR or IDAT: its CRC no longer matches
        Path bad = write("crc.png", crc);
        assertTrue(message(bad).matches(".*PNG chunk \\w{4} at offset \\d+: CRC mismatch \\(stored 0x\\p{XDigit}{8}, computed 0x\\p{XDigit}{8}\\)\\)"), message(bad));
        Path noEnd = write("noend.jpg", Arrays.copyOf(jpg, jpg.length - 2));
        assertTrue(message(noEnd).startsWith(noEnd + ": cannot decode image (JPEG: truncated: no EOI marker (end of image) after the scan at offset "),
                message(noEnd));
        Path half = write("half.jpg", Arrays.copyOf(jpg, jpg.length / 2));
        assertTrue(message(half).matches(".*JPEG.*truncated.*"), message(half));
        Path renamed = write("png.jpg", png);
        assertEquals(renamed + ": cannot decode image (the file is PNG data, not JPEG)", message(renamed));
    }

    private static String message(Path p) {
        return assertThrows(CorruptImageException.class, () -> ImageFolder.decode(p, 3)).getMessage();
    }

    @Test
    void aCorruptTgzIsAnErrorNamingItNeverDifferentBytes() throws Exception {
        byte[] tgz = ReadersFuzzTest.validTgz();
        Predicate<String> all = n -> true;
        Path ok = write("ok.tgz", tgz);
        assertEquals(java.util.List.of("package/data/a-ubyte", "package/README"), java.util.List.copyOf(Tar.read(ok, all).keySet()),
                "the regular files (not the folder, not the link)");

        byte[] trailer = tgz.clone();
        trailer[trailer.length - 6] ^= 0x55; // the gzip trailer's CRC-32, after the tar's end blocks
        Path crc = write("crc.tgz", trailer);
        String m = assertThrows(IOException.class, () -> Tar.read(crc, all)).getMessage();
        assertTrue(m.startsWith(crc + ": corrupt or truncated .tgz at ") && m.contains("CRC32 error"), m);

        Path cut = write("cut.tgz", Arrays.copyOf(tgz, tgz.length - 4)); // the trailer's length field cut off
        m = assertThrows(IOException.class, () -> Tar.read(cut, all)).getMessage();
        assertTrue(m.startsWith(cut + ": corrupt or truncated .tgz at "), m);

        Path empty = write("empty.tgz", new byte[0]);
        m = assertThrows(IOException.class, () -> Tar.read(empty, all)).getMessage();
        assertTrue(m.startsWith(empty + ": corrupt or truncated .tgz at the first header ("), m);
    }

    @Test
    void aTarHeaderWithAWrongChecksumIsRefused() throws Exception {
        // an uncompressed tar of one file, its name changed after the checksum was computed, then gzip'd
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(raw)) {
            var e = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("package/x");
            e.setSize(3);
            tar.putArchiveEntry(e);
            tar.write(new byte[] {1, 2, 3});
            tar.closeArchiveEntry();
        }
        byte[] t = raw.toByteArray();
        t[8] = 'y'; // package/y: the stored header checksum no longer matches
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
            g.write(t);
        }
        Path p = write("sum.tgz", gz.toByteArray());
        String m = assertThrows(IOException.class, () -> Tar.read(p, n -> true)).getMessage();
        assertEquals(p + ": entry 'package/y': the tar header's checksum does not match", m);
    }
}
