package dev.peco4j.peco.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * torchvision's ImageFolder: root/&lt;class&gt;/&lt;image&gt;, classes in sorted order, images
 * (PNG, JPEG, BMP, GIF) decoded with ImageIO when read. TwelveMonkeys' ImageIO plugin is on the
 * classpath, so CMYK and YCCK JPEGs that the JDK rejects decode too. A file that still cannot be
 * decoded raises {@link CorruptImageException} naming it; the loader skips it or fails, by option.
 */
public final class ImageFolder implements Dataset {
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    private final Path root;
    private final int channels;
    private final List<String> classes = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();

    /** channels: 1 decodes to gray (luminance), 3 to RGB. */
    public ImageFolder(Path root, int channels) throws IOException {
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
        return new Sample(decode(files.get(i), channels), labels.get(i));
    }

    /** Decodes one image file to [0, 1] floats with 1 (luminance) or 3 (RGB) channels. */
    public static Image decode(Path file, int channels) {
        BufferedImage bi;
        try {
            bi = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(file.toString(), "cannot decode image (" + e.getMessage() + ")", e);
        }
        if (bi == null) throw new CorruptImageException(file.toString(), "not an image ImageIO can read (unknown or damaged format)", null);
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
