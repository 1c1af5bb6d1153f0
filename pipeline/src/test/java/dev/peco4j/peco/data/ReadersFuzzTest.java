package dev.peco4j.peco.data;

import dev.peco4j.tensor.testing.Fuzz;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data readers under the mutation fuzzer ({@link Fuzz}): IDX (plain and gzip'd), .tgz archives,
 * PNG and JPEG images. A mutated input may only be refused with a documented exception naming it
 * (IOException; CorruptImageException for images), or read — and where the format can detect
 * corruption it must: a gzip'd IDX or a .tgz that reads must give the original bytes (CRC-32), a
 * PNG that decodes must give the original pixels (chunk CRCs), a JPEG cut before its end marker
 * must be refused. {@code scripts/fuzz.sh} runs 10,000 mutations per reader under -Xmx256m.
 */
class ReadersFuzzTest {
    @TempDir
    static Path dir;

    /** The pixel limit of the image readers here: a 256 MB heap cannot decode PIL's 89-megapixel default. */
    static final long MAX_PIXELS = 1 << 20;

    @BeforeAll
    static void heap() {
        System.out.printf("fuzz heap: %d MB%n", Runtime.getRuntime().maxMemory() >> 20);
    }

    static byte[] idx(boolean gzip) throws IOException {
        byte[] data = new byte[3 * 7 * 5];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 37);
        Path f = dir.resolve(gzip ? "valid-idx3-ubyte.gz" : "valid-idx3-ubyte");
        Idx.write(f, new int[] {3, 7, 5}, data);
        return Files.readAllBytes(f);
    }

    /** An npm-like .tgz: a folder, two files (one of 1,500 bytes, past one tar block) and a symlink. */
    static byte[] validTgz() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(b))) {
            java.util.Date time = new java.util.Date(1_700_000_000_000L); // fixed: the same bytes on every run
            TarArchiveEntry folder = new TarArchiveEntry("package/", true);
            folder.setModTime(time);
            tar.putArchiveEntry(folder);
            tar.closeArchiveEntry();
            byte[] big = new byte[1500];
            for (int i = 0; i < big.length; i++) big[i] = (byte) (i * 7 + i / 256);
            byte[][] contents = {big, "hello\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)};
            String[] names = {"package/data/a-ubyte", "package/README"};
            for (int i = 0; i < names.length; i++) {
                TarArchiveEntry t = new TarArchiveEntry(names[i]);
                t.setSize(contents[i].length);
                t.setModTime(time);
                tar.putArchiveEntry(t);
                tar.write(contents[i]);
                tar.closeArchiveEntry();
            }
            TarArchiveEntry link = new TarArchiveEntry("package/link", TarArchiveEntry.LF_SYMLINK);
            link.setLinkName("README");
            link.setModTime(time);
            tar.putArchiveEntry(link);
            tar.closeArchiveEntry();
        }
        return b.toByteArray();
    }

    static byte[] image(String format, int w, int h) throws IOException {
        BufferedImage bi = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) bi.setRGB(x, y, (x * 40) << 16 | (y * 30) << 8 | ((x + y) * 9));
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageIO.write(bi, format, b);
        return b.toByteArray();
    }

    private static Image decode(byte[] bytes, String name) {
        return ImageFolder.decode(bytes, name, 3, MAX_PIXELS);
    }

    private static <T> void fuzz(String name, Fuzz.Reader<T> reader, Fuzz.Checker<T> checker, byte[] valid, Class<? extends Throwable> documented) {
        System.out.println(Fuzz.run(new Fuzz.Target<>(name, reader, Fuzz.namedExceptions(documented), checker), valid, Fuzz.mutations(300), 9)
                .assertClean());
    }

    /** A converted taming VQGAN (pretrain --tokenizer): its config is read from the tensors, so odd shapes must give named errors too. */
    @Test
    void tamingVqgan() throws Exception {
        java.util.Map<String, dev.peco4j.tensor.Tensor> params = new java.util.LinkedHashMap<>();
        dev.peco4j.peco.PyTorchFixtures.read("vqgan_tiny").forEach((k, v) -> {
            if (k.startsWith("param.") && !k.startsWith("param.loss.")) params.put(k.substring(6), v);
        });
        Path f = dir.resolve("taming.safetensors");
        dev.peco4j.nn.io.SafeTensors.writeTensors(f, java.util.Map.of(), params);
        fuzz("taming-vqgan", (b, n) -> dev.peco4j.peco.tokenizer.VQModel.loadTaming(
                dev.peco4j.nn.io.SafeTensors.parse(java.lang.foreign.MemorySegment.ofArray(b), n).tensors(), n, 8), Fuzz.Checker.anything(),
                Files.readAllBytes(f), IllegalArgumentException.class);
    }

    @Test
    void idxPlain() throws Exception {
        fuzz("idx", (b, n) -> Idx.read(new ByteArrayInputStream(b), n), (o, m, a) ->
                (long) a.count() * a.itemSize() == a.data().length ? null : "dims " + Arrays.toString(a.dims()) + " disagree with the data", idx(false), IOException.class);
    }

    @Test
    void idxGzip() throws Exception {
        Idx.Array want = Idx.read(new ByteArrayInputStream(idx(true)), "valid");
        fuzz("idx.gz", (b, n) -> Idx.read(new ByteArrayInputStream(b), n), (o, m, a) ->
                Arrays.equals(want.dims(), a.dims()) && Arrays.equals(want.data(), a.data()) ? null : "accepted different data", idx(true), IOException.class);
    }

    @Test
    void tgz() throws Exception {
        byte[] valid = validTgz();
        Map<String, byte[]> want = Tar.read(new ByteArrayInputStream(valid), "valid", n -> true);
        fuzz("tgz", (b, n) -> Tar.read(new ByteArrayInputStream(b), n, x -> true), (o, m, got) -> {
            if (!got.keySet().equals(want.keySet())) return "accepted other entries " + got.keySet();
            for (var e : want.entrySet()) if (!Arrays.equals(e.getValue(), got.get(e.getKey()))) return "accepted other bytes in " + e.getKey();
            return null;
        }, valid, IOException.class);
    }

    @Test
    void png() throws Exception {
        byte[] valid = image("png", 23, 17);
        Image want = decode(valid, "valid.png");
        fuzz("png", (b, n) -> decode(b, n + ".png"), (o, m, img) -> want.equals(img) ? null : "accepted other pixels", valid,
                CorruptImageException.class);
    }

    @Test
    void jpeg() throws Exception {
        byte[] valid = image("jpeg", 23, 17);
        fuzz("jpeg", (b, n) -> decode(b, n + ".jpg"), (o, m, img) -> {
            boolean cut = m.length < o.length && Arrays.equals(o, 0, m.length, m, 0, m.length);
            return cut ? "accepted a JPEG cut to " + m.length + " of " + o.length + " bytes (before its end marker)" : null;
        }, valid, CorruptImageException.class);
    }
}
