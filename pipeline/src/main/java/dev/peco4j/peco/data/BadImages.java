package dev.peco4j.peco.data;

/**
 * What a run does with images it cannot use: fail (naming the file) or skip them with a warning, and
 * the pixel count above which an image is refused before decoding (a decompression bomb). Not part
 * of a run's config: the same data gives the same results under any of these settings, or an error.
 */
public record BadImages(DataLoader.OnError onError, long maxPixels) {
    /** Fail on a bad image; PIL's pixel limit. */
    public static final BadImages DEFAULT = new BadImages(DataLoader.OnError.FAIL, ImageFolder.DEFAULT_MAX_PIXELS);

    public BadImages {
        if (maxPixels < 1) throw new IllegalArgumentException("BadImages: the pixel limit must be >= 1, got " + maxPixels);
    }

    /** A loader config with this choice of failing or skipping. */
    public DataLoader.Config apply(DataLoader.Config c) {
        return c.onError(onError);
    }
}
