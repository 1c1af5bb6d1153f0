package dev.peco4j.tensor;

/**
 * The flat memory behind one or more tensor views. On the host, exactly one of the arrays is set,
 * by dtype: {@code f} for float32, {@code d} for float64, {@code i} for int32 and bool (0/1). On a
 * device, none is: {@code memory} holds the elements, and only explicit copies
 * ({@link Tensor#to(Device)}) move them. {@code version} counts in-place writes, so autodiff can
 * refuse a gradient computed from values that changed after they were saved.
 */
final class Storage {
    final DType dtype;
    final float[] f;
    final double[] d;
    final int[] i;
    /** The device memory holding the elements; null on the host. */
    final DeviceMemory memory;
    int version;
    /** Storages in order of creation: autograd tells the buffers made during a backward pass by it. */
    final long serial = SERIALS.incrementAndGet();
    private static final java.util.concurrent.atomic.AtomicLong SERIALS = new java.util.concurrent.atomic.AtomicLong();

    /** The serial of the newest storage made so far. */
    static long newest() {
        return SERIALS.get();
    }

    private Storage(DType dtype, float[] f, double[] d, int[] i) {
        this.dtype = dtype;
        this.f = f;
        this.d = d;
        this.i = i;
        this.memory = null;
    }

    private Storage(DType dtype, DeviceMemory memory) {
        this.dtype = dtype;
        this.f = null;
        this.d = null;
        this.i = null;
        this.memory = memory;
    }

    /** Storage of n elements on a device (not the host), contents undefined. */
    static Storage onDevice(Device device, DType dtype, int n) {
        if (device.isHost()) return allocate(dtype, n);
        return new Storage(dtype, device.runtime().allocate(dtype, n));
    }

    Device device() {
        return memory == null ? Device.cpu() : memory.device();
    }

    static Storage allocate(DType dtype, int n) {
        return switch (dtype) {
            case FLOAT32 -> new Storage(dtype, new float[n], null, null);
            case FLOAT64 -> new Storage(dtype, null, new double[n], null);
            case INT32, BOOL -> new Storage(dtype, null, null, new int[n]);
        };
    }

    static Storage wrap(float[] a) {
        return new Storage(DType.FLOAT32, a, null, null);
    }

    static Storage wrap(double[] a) {
        return new Storage(DType.FLOAT64, null, a, null);
    }

    static Storage wrap(DType dtype, int[] a) {
        if (dtype != DType.INT32 && dtype != DType.BOOL) throw new IllegalArgumentException("int storage for " + dtype);
        return new Storage(dtype, null, null, a);
    }

    int length() {
        if (memory != null) return memory.length();
        return switch (dtype) {
            case FLOAT32 -> f.length;
            case FLOAT64 -> d.length;
            case INT32, BOOL -> i.length;
        };
    }

    double get(int k) {
        if (memory != null) throw onDevice("read");
        return switch (dtype) {
            case FLOAT32 -> f[k];
            case FLOAT64 -> d[k];
            case INT32, BOOL -> i[k];
        };
    }

    /** Stores v rounded to this dtype; bools store v != 0. */
    void set(int k, double v) {
        if (memory != null) throw onDevice("written");
        switch (dtype) {
            case FLOAT32 -> f[k] = (float) v;
            case FLOAT64 -> d[k] = v;
            case INT32 -> i[k] = (int) v;
            case BOOL -> i[k] = v != 0 ? 1 : 0;
        }
    }

    private IllegalStateException onDevice(String what) {
        return new IllegalStateException("a " + dtype + " tensor on " + memory.device() + " cannot be " + what
                + " element by element on the host; copy it with toHost() first");
    }
}
