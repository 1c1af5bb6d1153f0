package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
    @TempDir
    Path dir;

    @Test
    void theCommittedSubsetHas200TrainingAnd100TestImagesPerClass() throws IOException {
        DataSources.Splits s = DataSources.subset();
        assertEquals(2000, s.train().size());
        assertEquals(1000, s.test().size());
        int[] train = new int[10], test = new int[10];
        for (int i = 0; i < 2000; i++) train[((TensorDataset) s.train()).label(i)]++;
        for (int i = 0; i < 1000; i++) test[((TensorDataset) s.test()).label(i)]++;
        int[] t200 = new int[10], t100 = new int[10];
        Arrays.fill(t200, 200);
        Arrays.fill(t100, 100);
        assertArrayEquals(t200, train);
        assertArrayEquals(t100, test);
        Image img = s.train().get(0).image();
        assertEquals("Image[1x28x28]", img.toString());
        float max = 0;
        for (float v : img.data()) max = Math.max(max, v);
        assertTrue(max > 0.5f && max <= 1f, "pixels are scaled to [0, 1], max " + max);
    }

    @Test
    void writesAndReadsBackGzipAndPlain() throws IOException {
        byte[] data = new byte[2 * 3 * 4];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 11);
        for (String name : new String[] {"a-idx3-ubyte.gz", "a-idx3-ubyte"}) {
            Path f = dir.resolve(name);
            Idx.write(f, new int[] {2, 3, 4}, data);
            Idx.Array a = Idx.read(f);
            assertArrayEquals(new int[] {2, 3, 4}, a.dims());
            assertArrayEquals(data, a.data());
            assertEquals(12, a.itemSize());
        }
    }

    private Path raw(String name, byte[] bytes, boolean gzip) throws IOException {
        Path f = dir.resolve(name);
        if (gzip) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (GZIPOutputStream g = new GZIPOutputStream(b)) {
                g.write(bytes);
            }
            bytes = b.toByteArray();
        }
        Files.write(f, bytes);
        return f;
    }

    private static byte[] header(int type, int... dims) {
        byte[] h = new byte[4 + 4 * dims.length];
        h[2] = (byte) type;
        h[3] = (byte) dims.length;
        for (int i = 0; i < dims.length; i++) {
            h[4 + 4 * i] = (byte) (dims[i] >>> 24);
            h[5 + 4 * i] = (byte) (dims[i] >>> 16);
            h[6 + 4 * i] = (byte) (dims[i] >>> 8);
            h[7 + 4 * i] = (byte) dims[i];
        }
        return h;
    }

    private static byte[] concat(byte[] a, int extra) {
        return Arrays.copyOf(a, a.length + extra);
    }

    private void assertError(Path f, String expected) {
        IOException e = assertThrows(IOException.class, () -> Idx.read(f));
        assertTrue(e.getMessage().startsWith(f.toString() + ": "), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "says '" + expected + "': " + e.getMessage());
    }

    @Test
    void badFilesGiveErrorsThatNameTheFileAndTheProblem() throws IOException {
        assertError(raw("magic", new byte[] {1, 2, 8, 1, 0, 0, 0, 1, 7}, false), "not an IDX file (magic number 01 02 08 01");
        assertError(raw("type", concat(header(0x0D, 2), 8), false), "IDX type code 0xd is not supported");
        assertError(raw("dims", new byte[] {0, 0, 8, 0}, false), "with 0 dimensions");
        assertError(raw("truncated-data", concat(header(8, 10, 28, 28), 7839), false), "truncated: the data of [10, 28, 28] (7840 bytes) need 7840 bytes, found 7839");
        assertError(raw("truncated-header", new byte[] {0, 0, 8, 3, 0, 0}, false), "truncated: 3 dimension sizes need 12 bytes, found 2");
        assertError(raw("trailing", concat(header(8, 3), 4), false), "trailing bytes after the 3 bytes of data");
        assertError(raw("huge", header(8, 100000, 100000, 100), false), "more than 2 GB");
        assertError(raw("empty", new byte[0], false), "truncated: the 4-byte magic number need 4 bytes, found 0");
        assertError(raw("truncated.gz", concat(header(8, 10, 28, 28), 500), true), "truncated");
        assertError(dir.resolve("missing.gz"), "no such IDX file");
    }

    @Test
    void aDamagedOrCutGzipStreamIsReportedAsCorrupt() throws IOException {
        Path good = dir.resolve("good.gz");
        byte[] data = new byte[20 * 28 * 28];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 31 + i / 7);
        Idx.write(good, new int[] {20, 28, 28}, data);
        byte[] gz = Files.readAllBytes(good);
        byte[] cut = Arrays.copyOf(gz, gz.length / 2);
        assertError(raw("cut.gz", cut, false), "corrupt gzip stream");
        byte[] flipped = gz.clone();
        for (int i = 20; i < 60; i++) flipped[i] ^= (byte) 0x5a;
        IOException e = assertThrows(IOException.class, () -> Idx.read(raw("flipped.gz", flipped, false)));
        assertTrue(e.getMessage().startsWith(dir.resolve("flipped.gz") + ": "), e.getMessage());
    }

    @Test
    void aFolderOfIdxFilesWithAMissingFileSaysWhichIsMissing() throws IOException {
        Path f = dir.resolve("fmnist");
        Files.createDirectories(f);
        Idx.write(f.resolve("train-images-idx3-ubyte.gz"), new int[] {1, 2, 2}, new byte[4]);
        Idx.write(f.resolve("train-labels-idx1-ubyte.gz"), new int[] {1}, new byte[1]);
        IOException e = assertThrows(IOException.class, () -> DataSources.fromPath(f));
        assertEquals(f + ": missing t10k-images-idx3-ubyte[.gz]", e.getMessage());
        IOException none = assertThrows(IOException.class, () -> DataSources.resolve(dir.resolve("nope").toString()));
        assertTrue(none.getMessage().startsWith("--data " + dir.resolve("nope") + ": no such file or folder"), none.getMessage());
    }

    @Test
    void labelsOutsideTheClassesAreRejected() {
        Idx.Array images = new Idx.Array(new int[] {2, 1, 1}, new byte[2]);
        Idx.Array labels = new Idx.Array(new int[] {2}, new byte[] {3, 12});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TensorDataset.fromIdx("toy", images, labels, DataSources.DIGITS));
        assertEquals("toy: label 12 of item 1 is outside [0, 10)", e.getMessage());
    }
}
