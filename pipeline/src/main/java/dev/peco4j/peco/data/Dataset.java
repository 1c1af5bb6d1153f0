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
}
