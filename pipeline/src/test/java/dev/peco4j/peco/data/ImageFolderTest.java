package dev.peco4j.peco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.StreamSupport;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
    @TempDir
    Path dir;

    private void png(Path file, int w, int h, int rgb) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage bi = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) bi.setRGB(x, y, x == 0 ? 0 : rgb);
        ImageIO.write(bi, file.toString().endsWith(".png") ? "png" : "jpeg", file.toFile());
    }

    @Test
    void classesAreSortedFolderNamesAndImagesDecodeToZeroOne() throws IOException {
        png(dir.resolve("train/zebra/a.png"), 4, 3, 0xff0000);
        png(dir.resolve("train/ant/b.png"), 4, 3, 0x00ff00);
        png(dir.resolve("train/ant/c.jpg"), 4, 3, 0x0000ff);
        Files.writeString(dir.resolve("train/ant/notes.txt"), "not an image");
        ImageFolder f = new ImageFolder(dir.resolve("train"), 3);
        assertEquals(List.of("ant", "zebra"), f.classes());
        assertEquals(3, f.size());
        Dataset.Sample s = f.get(2);
        assertEquals(1, s.label());
        assertEquals("Image[3x3x4]", s.image().toString());
        assertEquals(1f, s.image().at(0, 1, 2), 0);
        assertEquals(0f, s.image().at(1, 1, 2), 0);
        assertEquals(0f, s.image().at(0, 1, 0), 0);
        Image gray = ImageFolder.decode(f.file(2), 1);
        assertEquals(0.299f, gray.at(0, 0, 1), 1e-6);
    }

    @Test
    void aCorruptImageIsNamedAndIsFatalOrSkippedByOption() throws IOException {
        png(dir.resolve("train/a/good1.png"), 8, 8, 0x808080);
        png(dir.resolve("train/a/good2.png"), 8, 8, 0x808080);
        Path bad = dir.resolve("train/b/broken.png");
        Files.createDirectories(bad.getParent());
        Files.write(bad, Arrays.copyOf(Files.readAllBytes(dir.resolve("train/a/good1.png")), 30)); // truncated PNG
        Path junk = dir.resolve("train/b/junk.jpg");
        Files.write(junk, "this is not a jpeg".getBytes());
        ImageFolder f = new ImageFolder(dir.resolve("train"), 1);
        CorruptImageException e = assertThrows(CorruptImageException.class, () -> f.get(2));
        assertTrue(e.getMessage().startsWith(bad + ": "), e.getMessage());
        CorruptImageException e2 = assertThrows(CorruptImageException.class, () -> f.get(3));
        assertEquals(junk.toString(), e2.file);

        try (DataLoader fail = new DataLoader(f, Transform.identity(), 1, DataLoader.Config.eval(4));
             DataLoader.Epoch it = fail.epoch(0, 0)) {
            CorruptImageException thrown = assertThrows(CorruptImageException.class, it::next);
            assertTrue(thrown.getMessage().contains("broken.png"), thrown.getMessage());
        }

        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try (DataLoader skip = new DataLoader(f, Transform.identity(), 1, DataLoader.Config.eval(4).onError(DataLoader.OnError.SKIP));
             DataLoader.Epoch it = skip.epoch(0, 0)) {
            DataLoader.Batch b = it.next();
            assertEquals(2, b.size(), "the two good images, no zero images in place of the bad ones");
            assertEquals(2, b.skipped());
            assertEquals(2, skip.skipped());
        } finally {
            System.setErr(err);
        }
        String log = captured.toString();
        assertTrue(log.contains("broken.png") && log.contains("junk.jpg"), log);
    }

    @Test
    void anEmptyFolderIsAnError() throws IOException {
        Files.createDirectories(dir.resolve("empty/a"));
        IOException e = assertThrows(IOException.class, () -> new ImageFolder(dir.resolve("empty"), 3));
        assertTrue(e.getMessage().contains("has no class folders with images"), e.getMessage());
    }

    @Test
    void twelveMonkeysJpegReaderIsRegistered() {
        var readers = StreamSupport.stream(((Iterable<javax.imageio.ImageReader>) () -> ImageIO.getImageReadersByFormatName("jpeg")).spliterator(), false)
                .map(r -> r.getClass().getName()).toList();
        assertTrue(readers.stream().anyMatch(n -> n.startsWith("com.twelvemonkeys")), "JPEG readers: " + readers);
    }

    @Test
    void anImageFolderWithTrainAndTestResolvesAsData() throws IOException {
        png(dir.resolve("d/train/x/1.png"), 5, 5, 0x102030);
        png(dir.resolve("d/train/y/1.png"), 5, 5, 0x102030);
        png(dir.resolve("d/val/x/1.png"), 5, 5, 0x102030);
        png(dir.resolve("d/val/y/1.png"), 5, 5, 0x102030);
        DataSources.Splits s = DataSources.resolve(dir.resolve("d").toString());
        assertEquals(3, s.channels());
        assertEquals(2, s.test().size());
        png(dir.resolve("e/train/x/1.png"), 5, 5, 0x101010);
        png(dir.resolve("e/test/z/1.png"), 5, 5, 0x101010);
        IOException e = assertThrows(IOException.class, () -> DataSources.resolve(dir.resolve("e").toString()));
        assertTrue(e.getMessage().contains("train classes [x] differ from test classes [z]"), e.getMessage());
    }
}
