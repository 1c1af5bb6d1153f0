package dev.peco4j.peco.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * torchvision's ImageFolder: root/&lt;class&gt;/&lt;image&gt;, classes in sorted order, images
 * (PNG, JPEG, BMP, GIF) decoded with ImageIO when read. TwelveMonkeys' ImageIO plugin is on the
 * classpath, so CMYK and YCCK JPEGs that the JDK rejects decode too.
 *
 * <p>Before decoding, each file is checked ({@link ImageChecks}): its format must match its
 * extension, a PNG's chunk CRCs and pixel stream and a JPEG's markers up to its end marker must be
 * complete, and the header's width × height must not exceed the pixel limit (default
 * {@value #DEFAULT_MAX_PIXELS}, PIL's {@code MAX_IMAGE_PIXELS}): a decompression bomb is refused
 * before anything is allocated for it. A file that fails raises {@link CorruptImageException}
 * naming it; the loader skips it or fails, by option.
 */
public final class ImageFolder implements Dataset {
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");
    /** The default pixel limit, as PIL's Image.MAX_IMAGE_PIXELS. */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485;

    private final Path root;
    private final int channels;
    private final long maxPixels;
    private final List<String> classes = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();

    /** channels: 1 decodes to gray (luminance), 3 to RGB; the default pixel limit. */
    public ImageFolder(Path root, int channels) throws IOException {
        this(root, channels, DEFAULT_MAX_PIXELS);
    }

    /** channels: 1 decodes to gray (luminance), 3 to RGB; images above maxPixels are refused before decoding. */
    public ImageFolder(Path root, int channels, long maxPixels) throws IOException {
        if (maxPixels < 1) throw new IllegalArgumentException("ImageFolder " + root + ": the pixel limit must be >= 1, got " + maxPixels);
        this.maxPixels = maxPixels;
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("ImageFolder " + root + ": channels must be 1 or 3, got " + channels);
        if (!Files.isDirectory(root)) throw new IOException("ImageFolder: " + root + " is not a directory");
        this.root = root;
        this.channels = channels;
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        for (Path d : dirs) {
            List<Path> images;
            try (Stream<Path> s = Files.walk(d)) {
                images = s.filter(Files::isRegularFile).filter(ImageFolder::isImage).sorted().toList();
            }
            if (images.isEmpty()) continue;
            int label = classes.size();
            classes.add(d.getFileName().toString());
            for (Path p : images) {
                files.add(p);
                labels.add(label);
            }
        }
        if (files.isEmpty()) {
            throw new IOException("ImageFolder: " + root + " has no class folders with images (" + String.join(", ", EXTENSIONS) + ")");
        }
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(n::endsWith);
    }

    public Path file(int i) {
        return files.get(i);
    }

    @Override
    public int size() {
        return files.size();
    }

    @Override
    public Sample get(int i) {
        return new Sample(decode(files.get(i), channels, maxPixels), labels.get(i));
    }

    @Override
    public int label(int i) {
        return labels.get(i);
    }

    /** Decodes one image file to [0, 1] floats with 1 (luminance) or 3 (RGB) channels (default pixel limit). */
    public static Image decode(Path file, int channels) {
        return decode(file, channels, DEFAULT_MAX_PIXELS);
    }

    /** Checks ({@link ImageChecks}) and decodes one image file to [0, 1] floats with 1 (luminance) or 3 (RGB) channels. */
    public static Image decode(Path file, int channels, long maxPixels) {
        byte[] bytes;
        try {
            if (Files.size(file) > Integer.MAX_VALUE - 8) throw new IOException("file of " + Files.size(file) + " bytes is too large");
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CorruptImageException(file.toString(), "cannot read (" + e.getMessage() + ")", e);
        }
        return decode(bytes, file.toString(), channels, maxPixels);
    }

    /** The same from a file's bytes; name names it in errors. */
    public static Image decode(byte[] bytes, String name, int channels, long maxPixels) {
        BufferedImage bi;
        try {
            ImageChecks.Header header = ImageChecks.check(bytes, maxPixels);
            String ext = name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            String expected = ext.equals("jpg") ? "jpeg" : ext;
            if (EXTENSIONS.contains("." + ext) && !header.format().equals(expected)) {
                throw new IOException("the file is " + header.format().toUpperCase(Locale.ROOT) + " data, not " + expected.toUpperCase(Locale.ROOT));
            }
            bi = ImageIO.read(new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes)));
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(name, "cannot decode image (" + e.getMessage() + ")", e);
        }
        if (bi == null) throw new CorruptImageException(name, "not an image ImageIO can read (unknown or damaged format)", null);
        int h = bi.getHeight(), w = bi.getWidth();
        float[] out = new float[channels * h * w];
        int[] argb = bi.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < h * w; i++) {
            int p = argb[i];
            float r = ((p >> 16) & 0xff) / 255f, g = ((p >> 8) & 0xff) / 255f, b = (p & 0xff) / 255f;
            if (channels == 1) {
                out[i] = 0.299f * r + 0.587f * g + 0.114f * b; // ITU-R 601-2, as PIL's convert("L")
            } else {
                out[i] = r;
                out[h * w + i] = g;
                out[2 * h * w + i] = b;
            }
        }
        return new Image(channels, h, w, out);
    }

    @Override
    public List<String> classes() {
        return List.copyOf(classes);
    }

    @Override
    public String describe() {
        return "ImageFolder " + root + " (" + files.size() + " images, " + classes.size() + " classes, " + channels + " channel"
                + (channels == 1 ? "" : "s") + ")";
    }
}
