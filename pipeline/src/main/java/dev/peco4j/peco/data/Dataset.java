package dev.peco4j.peco.data;

import java.util.List;

/**
 * A labelled image dataset with random access, as torch.utils.data.Dataset. {@link #get} may decode
 * a file; it throws {@link CorruptImageException} (naming the file) for an image it cannot read.
 */
public interface Dataset {
    int size();

    Sample get(int index);

    /** The label of item index without its image where the dataset knows it (a folder's, a tensor file's); else {@code get(index).label()}. */
    default int label(int index) {
        return get(index).label();
    }

    /** Class names, index = label. */
    List<String> classes();

    /** A short description for logs: name, size, image shape. */
    String describe();

    record Sample(Image image, int label) {}

    /** The first n items (all when n is 0 or at least the size): for quick runs, tests and k-NN banks. */
    default Dataset first(int n) {
        if (n <= 0 || n >= size()) return this;
        Dataset base = this;
        return new Dataset() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public Sample get(int i) {
                return base.get(i);
            }

            @Override
            public int label(int i) {
                return base.label(i);
            }

            @Override
            public List<String> classes() {
                return base.classes();
            }

            @Override
            public String describe() {
                return base.describe() + ", first " + n;
            }
        };
    }

    /**
     * A label-scarce subset: the first ⌈fraction · n_c⌉ images of each class c, in the dataset's order
     * (the whole dataset at fraction 1). Reads every label once ({@link #label}: no image decoded where the dataset knows its labels).
     */
    default Dataset perClass(double fraction) {
        if (!(fraction > 0 && fraction <= 1)) throw new IllegalArgumentException("label fraction must be in (0, 1], got " + fraction);
        if (fraction == 1) return this;
        int n = size();
        int[] labels = new int[n], perClass = new int[classes().size()];
        for (int i = 0; i < n; i++) perClass[labels[i] = label(i)]++;
        int[] keep = new int[perClass.length], taken = new int[perClass.length];
        for (int c = 0; c < keep.length; c++) keep[c] = (int) Math.ceil(fraction * perClass[c] - 1e-9);   // 0.07 · 100 is 7, not 8
        int[] index = new int[n];
        int m = 0;
        for (int i = 0; i < n; i++) if (taken[labels[i]]++ < keep[labels[i]]) index[m++] = i;
        int[] chosen = java.util.Arrays.copyOf(index, m);
        Dataset base = this;
        return new Dataset() {
            @Override
            public int size() {
                return chosen.length;
            }

            @Override
            public Sample get(int i) {
                return base.get(chosen[i]);
            }

            @Override
            public int label(int i) {
                return base.label(chosen[i]);
            }

            @Override
            public List<String> classes() {
                return base.classes();
            }

            @Override
            public String describe() {
                return base.describe() + String.format(", %s%% of each class's labels (%d images)", fraction * 100, chosen.length);
            }
        };
    }
}
