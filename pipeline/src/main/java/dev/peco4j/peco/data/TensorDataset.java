package dev.peco4j.peco.data;

import java.util.List;

/**
 * Images held in memory as unsigned bytes (N, C, H, W) with int labels: MNIST, Fashion-MNIST and the
 * committed subset. About 47 MB for the 60 000 Fashion-MNIST training images.
 */
public final class TensorDataset implements Dataset {
    private final String name;
    private final int n, c, h, w;
    private final byte[] pixels;
    private final int[] labels;
    private final List<String> classes;

    public TensorDataset(String name, int c, int h, int w, byte[] pixels, int[] labels, List<String> classes) {
        this.n = labels.length;
        if ((long) n * c * h * w != pixels.length) {
            throw new IllegalArgumentException(name + ": " + n + " labels but " + pixels.length + " bytes of " + c + "x" + h + "x" + w + " images");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= classes.size()) {
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of item " + i + " is outside [0, " + classes.size() + ")");
            }
        }
        this.name = name;
        this.c = c;
        this.h = h;
        this.w = w;
        this.pixels = pixels;
        this.labels = labels;
        this.classes = List.copyOf(classes);
    }

    /** From an IDX image array (N, H, W) and label array (N). */
    public static TensorDataset fromIdx(String name, Idx.Array images, Idx.Array labels, List<String> classes) {
        if (images.dims().length != 3 || labels.dims().length != 1) {
            throw new IllegalArgumentException(name + ": expected images (N, H, W) and labels (N), got "
                    + java.util.Arrays.toString(images.dims()) + " and " + java.util.Arrays.toString(labels.dims()));
        }
        if (images.count() != labels.count()) {
            throw new IllegalArgumentException(name + ": " + images.count() + " images but " + labels.count() + " labels");
        }
        int[] y = new int[labels.count()];
        for (int i = 0; i < y.length; i++) y[i] = labels.data()[i] & 0xff;
        return new TensorDataset(name, 1, images.dims()[1], images.dims()[2], images.data(), y, classes);
    }

    @Override
    public int size() {
        return n;
    }

    @Override
    public Sample get(int i) {
        return new Sample(Image.ofBytes(c, h, w, pixels, i * c * h * w), labels[i]);
    }

    @Override
    public int label(int i) {
        return labels[i];
    }

    /** The raw bytes of item i (C·H·W values). */
    public byte[] bytes(int i) {
        return java.util.Arrays.copyOfRange(pixels, i * c * h * w, (i + 1) * c * h * w);
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public String describe() {
        return name + " (" + n + " images " + c + "x" + h + "x" + w + ", " + classes.size() + " classes)";
    }
}
