package dev.peco4j.tensor;

/**
 * The elements of one {@link Storage} on a device: a buffer of {@code length} elements of one dtype.
 * Copies to and from the host are whole-buffer and blocking; they happen only at the explicit points
 * ({@link Tensor#to(Device)}, {@link Tensor#toHost()}, {@code item()}, reading an array).
 */
interface DeviceMemory {
    Device device();

    int length();

    /** Copies a host storage of the same dtype and length into this buffer. */
    void upload(Storage host);

    /** Copies this buffer into a host storage of the same dtype and length. */
    void download(Storage host);
}
