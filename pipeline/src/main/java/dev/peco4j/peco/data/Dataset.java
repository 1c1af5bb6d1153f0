package dev.peco4j.peco.data;

import java.util.List;

/**
 * A labelled image dataset with random access, as torch.utils.data.Dataset. {@link #get} may decode
 * a file; it throws {@link CorruptImageException} (naming the file) for an image it cannot read.
 */
public interface Dataset {
    int size();

    Sample get(int index);

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
            public List<String> classes() {
                return base.classes();
            }

            @Override
            public String describe() {
                return base.describe() + ", first " + n;
            }
        };
    }
}
