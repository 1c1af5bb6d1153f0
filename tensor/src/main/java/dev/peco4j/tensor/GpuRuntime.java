package dev.peco4j.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the OpenCL and CUDA runtimes share: the memory of one accelerator and the launch of the
 * kernels of {@code kernels.gpu.c} ({@link GpuKernels}). A subclass binds its API's buffer, copy and
 * launch calls; this class owns the bookkeeping.
 *
 * <p>Buffers are released when their storage becomes unreachable: a cleaner hands them to a queue
 * that this runtime drains on its own calls (drivers have failed on releases from the cleaner's
 * thread). The host heap sees only small objects and would rarely collect, so the runtime asks for
 * a collection whenever it has allocated as much as is live since the last one (at least 256 MiB);
 * past 80% of the device's memory, or when an allocation fails, it also waits for the cleaner. So a
 * long run does not grow device memory. Every call into the API holds this runtime's lock.
 */
abstract class GpuRuntime implements DeviceRuntime {
    private static final Cleaner CLEANER = Cleaner.create();
    /** A collection is asked for once the bytes allocated since the last one pass the live bytes, or this. */
    private static final long MIN_COLLECT_BYTES = 256L << 20;

    private record Released(MemorySegment buffer, long bytes) {}

    /** This device's name, as in errors: {@code opencl:0}, {@code cuda:1}. */
    final String name;
    private final long budget;
    private final AtomicLong liveBytes = new AtomicLong(), allocatedSinceCollect = new AtomicLong();
    private final Queue<Released> released = new ConcurrentLinkedQueue<>();
    private final GpuKernels kernels = new GpuKernels(this);
    private Device device; // set once the Device wraps this runtime

    GpuRuntime(String name, long memoryBytes) {
        this.name = name;
        this.budget = memoryBytes / 10 * 8;
    }

    /** The kernel sources as one translation unit: the dialect's prelude, then the kernels. */
    static String kernelSource() {
        return resource("prelude.gpu.h") + "\n" + resource("kernels.gpu.c");
    }

    static String resource(String file) {
        try (InputStream in = GpuRuntime.class.getResourceAsStream(file)) {
            if (in == null) throw new IllegalStateException("device kernels: " + file + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ what an API binds
    // (each called with this runtime's lock held, after enter())

    /** The kind of device, as in {@link Device}'s names: {@code opencl} or {@code cuda}. */
    abstract String kind();

    /** A new buffer of the given size, or null when the device is out of memory. */
    abstract MemorySegment create(long bytes);

    abstract void release(MemorySegment buffer);

    /** Copies bytes from a host array (a heap segment) into buffer, blocking. */
    abstract void write(MemorySegment buffer, MemorySegment host, long bytes);

    /** Copies bytes from buffer into a host array (a heap segment), blocking until every queued op has run. */
    abstract void read(MemorySegment buffer, MemorySegment host, long bytes);

    /** Waits for every queued op. */
    abstract void finish();

    /**
     * Called on taking this runtime's lock, before the API calls made under it (CUDA makes its
     * context the calling thread's here); nothing by default.
     */
    void enter() {}

    /**
     * Queues kernel name over global work items (1–3 dims, each rounded up to the local size; without
     * one, the API's choice). Arguments: a {@link Tensor} passes its buffer, an Integer an int, a
     * Float a float, and an int[] a struct of ints by value.
     */
    abstract void enqueue(String name, long[] global, long[] local, Object... args);

    // ------------------------------------------------------------------ shared

    /** See {@link #enqueue}. */
    final synchronized void launch(String kernel, long[] global, long[] local, Object... args) {
        enter();
        enqueue(kernel, global, local, args);
    }

    /** A tensor argument's buffer. */
    static MemorySegment buffer(Tensor t) {
        return ((Buffer) t.storage.memory).buffer;
    }

    @Override
    public final void bind(Device d) {
        this.device = d;
    }

    final Device device() {
        return device;
    }

    @Override
    public final Backend kernels() {
        return kernels;
    }

    @Override
    public final synchronized void synchronize() {
        enter();
        finish();
    }

    @Override
    public final long bytesInUse() {
        return liveBytes.get();
    }

    /** Releases the buffers the cleaner handed over; the caller holds this runtime's lock. */
    private void releaseCollected() {
        for (Released r; (r = released.poll()) != null; ) {
            release(r.buffer());
            liveBytes.addAndGet(-r.bytes());
        }
    }

    @Override
    public final synchronized DeviceMemory allocate(DType dtype, int n) {
        enter();
        releaseCollected();
        if (dtype == DType.FLOAT64) {
            throw new IllegalArgumentException(name + " holds float32, int32 and bool tensors; got a float64 one "
                    + "(convert it with .to(DType.FLOAT32) first)");
        }
        long bytes = Math.max(4L, (long) n * 4);
        if (liveBytes.get() + bytes > budget) {
            collect();
        } else if (allocatedSinceCollect.addAndGet(bytes) > Math.max(MIN_COLLECT_BYTES, liveBytes.get())) {
            // As much allocated since the last collection as is live now: most of it is garbage that only a collection
            // finds (the host heap sees small objects and would rarely collect), so ask for one without waiting.
            allocatedSinceCollect.set(0);
            System.gc();
        }
        MemorySegment buffer = create(bytes);
        if (buffer == null) {
            collect();
            buffer = create(bytes);
            if (buffer == null) {
                throw new IllegalStateException(name + ": out of device memory allocating " + bytes + " bytes ("
                        + (liveBytes.get() >> 20) + " MiB live)");
            }
        }
        liveBytes.addAndGet(bytes);
        return new Buffer(this, buffer, n, bytes);
    }

    /** Asks the JVM to collect, so that buffers of unreachable tensors are released, and waits a moment for the cleaner. */
    private void collect() {
        allocatedSinceCollect.set(0);
        System.gc();
        try {
            Thread.sleep(10); // the cleaner thread hands over what the collection found
            releaseCollected();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A device buffer; released by the cleaner when its storage is unreachable. */
    static final class Buffer implements DeviceMemory {
        private final GpuRuntime rt;
        final MemorySegment buffer;
        private final int length;

        Buffer(GpuRuntime rt, MemorySegment buffer, int length, long bytes) {
            this.rt = rt;
            this.buffer = buffer;
            this.length = length;
            Queue<Released> released = rt.released;
            CLEANER.register(this, () -> released.add(new Released(buffer, bytes)));
        }

        @Override
        public Device device() {
            return rt.device;
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public void upload(Storage host) {
            if (length == 0) return;
            synchronized (rt) {
                rt.enter();
                rt.write(buffer, array(host), (long) length * 4);
            }
        }

        @Override
        public void download(Storage host) {
            if (length == 0) return;
            synchronized (rt) {
                rt.enter();
                rt.read(buffer, array(host), (long) length * 4);
            }
        }

        private static MemorySegment array(Storage host) {
            return host.f != null ? MemorySegment.ofArray(host.f) : MemorySegment.ofArray(host.i);
        }
    }
}
