package dev.peco4j.tensor;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One OpenCL device: its context, one in-order command queue, the program built from the kernel
 * sources ({@code prelude.gpu.h} + {@code kernels.gpu.c}, beside this class), and its memory. Buffers
 * are released (by a cleaner) when their storage becomes unreachable. The host heap sees only small
 * objects and would rarely collect, so the device asks for a collection whenever it has allocated as
 * much as is live since the last one (at least 256 MiB); past 80% of its memory, or when an
 * allocation fails, it also waits for the cleaner. So a long run does not grow device memory.
 */
final class OpenClRuntime implements DeviceRuntime {
    private static final Cleaner CLEANER = Cleaner.create();
    /** A collection is asked for once the bytes allocated since the last one pass the live bytes, or this. */
    private static final long MIN_COLLECT_BYTES = 256L << 20;

    /** One device as enumerated: platform by platform, every type. */
    private record Found(MemorySegment platform, MemorySegment device, String name, String platformName, long type, long memory) {
        String describe() {
            return name + " (" + platformName + ", " + (memory >> 20) + " MiB)";
        }
    }

    private final int index;
    private final Found found;
    private final MemorySegment context, queue, program;
    private final Map<String, MemorySegment> kernelObjects = new ConcurrentHashMap<>();
    private final AtomicLong liveBytes = new AtomicLong(), allocatedSinceCollect = new AtomicLong();
    /** Buffers whose storage was collected, released on this runtime's own calls: PoCL has failed on releases from the cleaner's thread. */
    private final java.util.Queue<Released> released = new java.util.concurrent.ConcurrentLinkedQueue<>();

    private record Released(MemorySegment mem, long bytes) {}
    private final long budget;
    private final OpenClBackend kernels;
    private Device device; // set once the Device wraps this runtime

    private OpenClRuntime(int index, Found found) {
        this.index = index;
        this.found = found;
        this.budget = found.memory / 10 * 8;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment devs = a.allocate(ADDRESS);
            devs.set(ADDRESS, 0, found.device);
            context = OpenCl.callPtr(OpenCl.createContext, MemorySegment.NULL, 1, devs, MemorySegment.NULL, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateContext");
            queue = OpenCl.callPtr(OpenCl.createCommandQueue, context, found.device, 0L, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateCommandQueue");
            String source = resource("prelude.gpu.h") + "\n" + resource("kernels.gpu.c");
            MemorySegment src = a.allocateFrom(source);
            MemorySegment strings = a.allocate(ADDRESS);
            strings.set(ADDRESS, 0, src);
            program = OpenCl.callPtr(OpenCl.createProgramWithSource, context, 1, strings, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateProgramWithSource");
            int built = OpenCl.call(OpenCl.buildProgram, program, 1, devs, a.allocateFrom("-cl-std=CL1.2"), MemorySegment.NULL, MemorySegment.NULL);
            if (built != 0) throw new DeviceUnavailableException("opencl:" + index + ": the kernels do not build: " + buildLog(a));
        }
        this.kernels = new OpenClBackend(this);
    }

    private String buildLog(Arena a) {
        MemorySegment size = a.allocate(JAVA_LONG);
        OpenCl.call(OpenCl.getProgramBuildInfo, program, found.device, OpenCl.PROGRAM_BUILD_LOG, 0L, MemorySegment.NULL, size);
        MemorySegment log = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
        OpenCl.call(OpenCl.getProgramBuildInfo, program, found.device, OpenCl.PROGRAM_BUILD_LOG, log.byteSize(), log, MemorySegment.NULL);
        return log.getString(0).strip();
    }

    private static String resource(String name) {
        try (InputStream in = OpenClRuntime.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("opencl: kernel source " + name + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Opens the index-th OpenCL device of this machine (every platform, every type, in order). */
    static OpenClRuntime open(int index) {
        List<Found> all = enumerate();
        if (index >= all.size()) {
            throw new DeviceUnavailableException("opencl:" + index + ": this machine has " + all.size() + " OpenCL device"
                    + (all.size() == 1 ? "" : "s"));
        }
        return new OpenClRuntime(index, all.get(index));
    }

    /** Each OpenCL device as "name (platform, memory)", in index order. */
    static List<String> names() {
        return enumerate().stream().map(Found::describe).toList();
    }

    /** The index of the first OpenCL GPU, if any (a CPU driver such as PoCL is never chosen by {@code auto}). */
    static Optional<Integer> firstGpu() {
        if (OpenCl.UNAVAILABLE != null) return Optional.empty();
        List<Found> all = enumerate();
        for (int k = 0; k < all.size(); k++) if ((all.get(k).type & OpenCl.DEVICE_TYPE_GPU) != 0) return Optional.of(k);
        return Optional.empty();
    }

    private static List<Found> enumerate() {
        if (OpenCl.UNAVAILABLE != null) throw new DeviceUnavailableException("opencl: " + OpenCl.UNAVAILABLE);
        List<Found> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            int rc = OpenCl.call(OpenCl.getPlatformIDs, 0, MemorySegment.NULL, n);
            if (rc == -1001 || n.get(JAVA_INT, 0) == 0) {
                throw new DeviceUnavailableException("opencl: no OpenCL platform is installed (Debian: pocl-opencl-icd, or a GPU vendor's ICD)");
            }
            OpenCl.check(rc, "clGetPlatformIDs");
            int np = n.get(JAVA_INT, 0);
            MemorySegment platforms = a.allocate(ADDRESS, np);
            OpenCl.check(OpenCl.call(OpenCl.getPlatformIDs, np, platforms, MemorySegment.NULL), "clGetPlatformIDs");
            for (int p = 0; p < np; p++) {
                MemorySegment platform = platforms.getAtIndex(ADDRESS, p);
                String pname = info(a, OpenCl.getPlatformInfo, platform, OpenCl.PLATFORM_NAME);
                if (OpenCl.call(OpenCl.getDeviceIDs, platform, OpenCl.DEVICE_TYPE_ALL, 0, MemorySegment.NULL, n) != 0) continue;
                int nd = n.get(JAVA_INT, 0);
                MemorySegment devices = a.allocate(ADDRESS, nd);
                OpenCl.check(OpenCl.call(OpenCl.getDeviceIDs, platform, OpenCl.DEVICE_TYPE_ALL, nd, devices, MemorySegment.NULL), "clGetDeviceIDs");
                for (int d = 0; d < nd; d++) {
                    MemorySegment dev = devices.getAtIndex(ADDRESS, d);
                    MemorySegment v = a.allocate(JAVA_LONG);
                    OpenCl.check(OpenCl.call(OpenCl.getDeviceInfo, dev, OpenCl.DEVICE_TYPE, 8L, v, MemorySegment.NULL), "clGetDeviceInfo");
                    long type = v.get(JAVA_LONG, 0);
                    OpenCl.check(OpenCl.call(OpenCl.getDeviceInfo, dev, OpenCl.DEVICE_GLOBAL_MEM_SIZE, 8L, v, MemorySegment.NULL), "clGetDeviceInfo");
                    out.add(new Found(platform, dev, info(a, OpenCl.getDeviceInfo, dev, OpenCl.DEVICE_NAME), pname, type, v.get(JAVA_LONG, 0)));
                }
            }
        }
        return out;
    }

    private static String info(Arena a, java.lang.invoke.MethodHandle h, MemorySegment obj, int param) {
        MemorySegment buf = a.allocate(1024);
        OpenCl.check(OpenCl.call(h, obj, param, 1024L, buf, MemorySegment.NULL), "clGet*Info");
        return buf.getString(0).strip();
    }

    @Override
    public void bind(Device d) {
        this.device = d;
    }

    Device device() {
        return device;
    }

    @Override
    public Backend kernels() {
        return kernels;
    }

    @Override
    public String description() {
        return found.describe();
    }

    /** Releases the buffers the cleaner handed over; the caller holds this runtime's lock. */
    private void releaseCollected() {
        for (Released r; (r = released.poll()) != null; ) {
            OpenCl.check(OpenCl.call(OpenCl.releaseMemObject, r.mem()), "clReleaseMemObject");
            liveBytes.addAndGet(-r.bytes());
        }
    }

    @Override
    public synchronized DeviceMemory allocate(DType dtype, int n) {
        releaseCollected();
        if (dtype == DType.FLOAT64) {
            throw new IllegalArgumentException("opencl:" + index + " holds float32, int32 and bool tensors; got a float64 one "
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
        MemorySegment mem = tryCreate(bytes);
        if (mem == null) {
            collect();
            mem = tryCreate(bytes);
            if (mem == null) throw new IllegalStateException("opencl:" + index + ": out of device memory allocating " + bytes + " bytes ("
                    + (liveBytes.get() >> 20) + " MiB live)");
        }
        return new Memory(this, mem, dtype, n, bytes);
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

    private MemorySegment tryCreate(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment mem = OpenCl.callPtr(OpenCl.createBuffer, context, OpenCl.MEM_READ_WRITE, bytes, MemorySegment.NULL, err);
            int rc = err.get(JAVA_INT, 0);
            if (rc == -4 || rc == -5 || rc == -6) return null;
            OpenCl.check(rc, "clCreateBuffer");
            liveBytes.addAndGet(bytes);
            return mem;
        }
    }

    @Override
    public synchronized void synchronize() {
        OpenCl.check(OpenCl.call(OpenCl.finish, queue), "clFinish");
    }

    @Override
    public long bytesInUse() {
        return liveBytes.get();
    }

    /** A device buffer; released by the cleaner when its storage is unreachable. */
    static final class Memory implements DeviceMemory {
        final OpenClRuntime rt;
        final MemorySegment mem;
        final DType dtype;
        final int length;

        Memory(OpenClRuntime rt, MemorySegment mem, DType dtype, int length, long bytes) {
            this.rt = rt;
            this.mem = mem;
            this.dtype = dtype;
            this.length = length;
            java.util.Queue<Released> released = rt.released;
            CLEANER.register(this, () -> released.add(new Released(mem, bytes)));
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
            transfer(OpenCl.enqueueWriteBuffer, host, "clEnqueueWriteBuffer");
        }

        @Override
        public void download(Storage host) {
            transfer(OpenCl.enqueueReadBuffer, host, "clEnqueueReadBuffer");
        }

        /** A blocking whole-buffer copy between this buffer and the host storage's array, in place (a critical downcall). */
        private void transfer(java.lang.invoke.MethodHandle call, Storage host, String name) {
            if (length == 0) return;
            MemorySegment array = host.f != null ? MemorySegment.ofArray(host.f) : MemorySegment.ofArray(host.i);
            synchronized (rt) {
                OpenCl.check(OpenCl.call(call, rt.queue, mem, 1, 0L, (long) length * 4, array, 0, MemorySegment.NULL, MemorySegment.NULL), name);
            }
        }
    }

    private MemorySegment kernel(String name) {
        return kernelObjects.computeIfAbsent(name, k -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment err = a.allocate(JAVA_INT);
                MemorySegment kern = OpenCl.callPtr(OpenCl.createKernel, program, a.allocateFrom(k), err);
                OpenCl.check(err.get(JAVA_INT, 0), "clCreateKernel " + k);
                return kern;
            }
        });
    }

    /**
     * Enqueues kernel name over global work items (1–3 dims, each rounded up to the local size when one
     * is given). Arguments: a {@link Tensor} passes its buffer, an Integer an int, a Float a float, and
     * an int[] a struct of ints by value.
     */
    synchronized void launch(String name, long[] global, long[] local, Object... args) {
        MemorySegment k = kernel(name);
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < args.length; i++) {
                MemorySegment v;
                switch (args[i]) {
                    case Tensor t -> {
                        v = a.allocate(ADDRESS);
                        v.set(ADDRESS, 0, ((Memory) t.storage.memory).mem);
                    }
                    case Integer x -> v = a.allocateFrom(JAVA_INT, x);
                    case Float x -> v = a.allocateFrom(JAVA_FLOAT, x);
                    case int[] s -> v = a.allocateFrom(JAVA_INT, s);
                    default -> throw new IllegalArgumentException("opencl: kernel argument of type " + args[i].getClass());
                }
                OpenCl.check(OpenCl.call(OpenCl.setKernelArg, k, i, v.byteSize(), v), "clSetKernelArg " + name + " #" + i);
            }
            int dims = global.length;
            MemorySegment g = a.allocate(JAVA_LONG, dims);
            MemorySegment l = local == null ? MemorySegment.NULL : a.allocate(JAVA_LONG, dims);
            for (int d = 0; d < dims; d++) {
                long size = Math.max(1, global[d]);
                if (local != null) {
                    size = (size + local[d] - 1) / local[d] * local[d];
                    l.setAtIndex(JAVA_LONG, d, local[d]);
                }
                g.setAtIndex(JAVA_LONG, d, size);
            }
            OpenCl.check(OpenCl.call(OpenCl.enqueueNDRangeKernel, queue, k, dims, MemorySegment.NULL, g, l, 0,
                    MemorySegment.NULL, MemorySegment.NULL), "clEnqueueNDRangeKernel " + name);
        }
    }
}
