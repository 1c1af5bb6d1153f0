package dev.peco4j.tensor;

/** What a device other than the host provides: its memory and the kernels that compute on it. */
interface DeviceRuntime {
    /** Device memory for n elements of dtype, contents undefined. */
    DeviceMemory allocate(DType dtype, int n);

    /** The device's own kernels; ops it does not implement take the reference on the host (see {@link HostFallback}). */
    Backend kernels();

    /** Called once by the {@link Device} that wraps this runtime, before any allocation. */
    void bind(Device device);

    /** Waits for every queued op. */
    void synchronize();

    /** Bytes held by live buffers. */
    long bytesInUse();

    /** One line: the device's name, its platform and its memory. */
    String description();
}
