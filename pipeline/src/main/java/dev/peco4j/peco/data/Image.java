package dev.peco4j.peco.data;

import java.util.Arrays;

/**
 * One image as floats in [0, 1] (before normalization), channel-major: data[(c·H + y)·W + x].
 * Transforms make new images; they never change one in place.
 */
public record Image(int channels, int height, int width, float[] data) {
    public Image {
        if (channels < 1 || height < 1 || width < 1 || data.length != channels * height * width) {
            throw new IllegalArgumentException("Image: " + channels + "x" + height + "x" + width + " needs "
                    + (long) channels * height * width + " values, got " + data.length);
        }
    }

    /** From unsigned bytes (0..255), channel-major. */
    public static Image ofBytes(int channels, int height, int width, byte[] src, int offset) {
        float[] d = new float[channels * height * width];
        for (int i = 0; i < d.length; i++) d[i] = (src[offset + i] & 0xff) / 255f;
        return new Image(channels, height, width, d);
    }

    public float at(int c, int y, int x) {
        return data[(c * height + y) * width + x];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Image i && i.channels == channels && i.height == height && i.width == width && Arrays.equals(i.data, data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Image[" + channels + "x" + height + "x" + width + "]";
    }
}
