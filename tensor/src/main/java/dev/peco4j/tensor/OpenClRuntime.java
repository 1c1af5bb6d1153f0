package dev.peco4j.tensor;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One OpenCL device: its context, one in-order command queue, and the program built from the
 * kernel sources ({@code prelude.gpu.h} + {@code kernels.gpu.c}, beside this class) as OpenCL C 1.2.
 * Memory bookkeeping is {@link GpuRuntime}'s.
 */
final class OpenClRuntime extends GpuRuntime {
    /** One device as enumerated: platform by platform, every type. */
    private record Found(MemorySegment platform, MemorySegment device, String name, String platformName, long type, long memory) {
        String describe() {
            return name + " (" + platformName + ", " + (memory >> 20) + " MiB)";
        }
    }

    private final Found found;
    private final MemorySegment context, queue, program;
    private final Map<String, MemorySegment> kernelObjects = new ConcurrentHashMap<>();

    private OpenClRuntime(int index, Found found) {
        super("opencl:" + index, found.memory);
        this.found = found;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment devs = a.allocate(ADDRESS);
            devs.set(ADDRESS, 0, found.device);
            context = Ffm.callPtr(OpenCl.createContext, MemorySegment.NULL, 1, devs, MemorySegment.NULL, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateContext");
            queue = Ffm.callPtr(OpenCl.createCommandQueue, context, found.device, 0L, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateCommandQueue");
            MemorySegment src = a.allocateFrom(kernelSource());
            MemorySegment strings = a.allocate(ADDRESS);
            strings.set(ADDRESS, 0, src);
            program = Ffm.callPtr(OpenCl.createProgramWithSource, context, 1, strings, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateProgramWithSource");
            int built = Ffm.call(OpenCl.buildProgram, program, 1, devs, a.allocateFrom("-cl-std=CL1.2"), MemorySegment.NULL, MemorySegment.NULL);
            if (built != 0) throw new DeviceUnavailableException(name + ": the kernels do not build: " + buildLog(a));
        }
    }

    private String buildLog(Arena a) {
        MemorySegment size = a.allocate(JAVA_LONG);
        Ffm.call(OpenCl.getProgramBuildInfo, program, found.device, OpenCl.PROGRAM_BUILD_LOG, 0L, MemorySegment.NULL, size);
        MemorySegment log = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
        Ffm.call(OpenCl.getProgramBuildInfo, program, found.device, OpenCl.PROGRAM_BUILD_LOG, log.byteSize(), log, MemorySegment.NULL);
        return log.getString(0).strip();
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
            int rc = Ffm.call(OpenCl.getPlatformIDs, 0, MemorySegment.NULL, n);
            if (rc == -1001 || n.get(JAVA_INT, 0) == 0) {
                throw new DeviceUnavailableException("opencl: no OpenCL platform is installed (Debian: pocl-opencl-icd, or a GPU vendor's ICD)");
            }
            OpenCl.check(rc, "clGetPlatformIDs");
            int np = n.get(JAVA_INT, 0);
            MemorySegment platforms = a.allocate(ADDRESS, np);
            OpenCl.check(Ffm.call(OpenCl.getPlatformIDs, np, platforms, MemorySegment.NULL), "clGetPlatformIDs");
            for (int p = 0; p < np; p++) {
                MemorySegment platform = platforms.getAtIndex(ADDRESS, p);
                String pname = info(a, OpenCl.getPlatformInfo, platform, OpenCl.PLATFORM_NAME);
                if (Ffm.call(OpenCl.getDeviceIDs, platform, OpenCl.DEVICE_TYPE_ALL, 0, MemorySegment.NULL, n) != 0) continue;
                int nd = n.get(JAVA_INT, 0);
                MemorySegment devices = a.allocate(ADDRESS, nd);
                OpenCl.check(Ffm.call(OpenCl.getDeviceIDs, platform, OpenCl.DEVICE_TYPE_ALL, nd, devices, MemorySegment.NULL), "clGetDeviceIDs");
                for (int d = 0; d < nd; d++) {
                    MemorySegment dev = devices.getAtIndex(ADDRESS, d);
                    MemorySegment v = a.allocate(JAVA_LONG);
                    OpenCl.check(Ffm.call(OpenCl.getDeviceInfo, dev, OpenCl.DEVICE_TYPE, 8L, v, MemorySegment.NULL), "clGetDeviceInfo");
                    long type = v.get(JAVA_LONG, 0);
                    OpenCl.check(Ffm.call(OpenCl.getDeviceInfo, dev, OpenCl.DEVICE_GLOBAL_MEM_SIZE, 8L, v, MemorySegment.NULL), "clGetDeviceInfo");
                    out.add(new Found(platform, dev, info(a, OpenCl.getDeviceInfo, dev, OpenCl.DEVICE_NAME), pname, type, v.get(JAVA_LONG, 0)));
                }
            }
        }
        return out;
    }

    private static String info(Arena a, java.lang.invoke.MethodHandle h, MemorySegment obj, int param) {
        MemorySegment buf = a.allocate(1024);
        OpenCl.check(Ffm.call(h, obj, param, 1024L, buf, MemorySegment.NULL), "clGet*Info");
        return buf.getString(0).strip();
    }

    @Override
    String kind() {
        return "opencl";
    }

    @Override
    public String description() {
        return found.describe();
    }

    @Override
    MemorySegment create(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment mem = Ffm.callPtr(OpenCl.createBuffer, context, OpenCl.MEM_READ_WRITE, bytes, MemorySegment.NULL, err);
            int rc = err.get(JAVA_INT, 0);
            if (rc == -4 || rc == -5 || rc == -6) return null;
            OpenCl.check(rc, "clCreateBuffer");
            return mem;
        }
    }

    @Override
    void release(MemorySegment buffer) {
        OpenCl.check(Ffm.call(OpenCl.releaseMemObject, buffer), "clReleaseMemObject");
    }

    @Override
    void write(MemorySegment buffer, MemorySegment host, long bytes) {
        OpenCl.check(Ffm.call(OpenCl.enqueueWriteBuffer, queue, buffer, 1, 0L, bytes, host, 0, MemorySegment.NULL, MemorySegment.NULL),
                "clEnqueueWriteBuffer");
    }

    @Override
    void read(MemorySegment buffer, MemorySegment host, long bytes) {
        OpenCl.check(Ffm.call(OpenCl.enqueueReadBuffer, queue, buffer, 1, 0L, bytes, host, 0, MemorySegment.NULL, MemorySegment.NULL),
                "clEnqueueReadBuffer");
    }

    @Override
    void finish() {
        OpenCl.check(Ffm.call(OpenCl.finish, queue), "clFinish");
    }

    private MemorySegment kernel(String name) {
        return kernelObjects.computeIfAbsent(name, k -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment err = a.allocate(JAVA_INT);
                MemorySegment kern = Ffm.callPtr(OpenCl.createKernel, program, a.allocateFrom(k), err);
                OpenCl.check(err.get(JAVA_INT, 0), "clCreateKernel " + k);
                return kern;
            }
        });
    }

    @Override
    void enqueue(String name, long[] global, long[] local, Object... args) {
        MemorySegment k = kernel(name);
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < args.length; i++) {
                MemorySegment v;
                switch (args[i]) {
                    case Tensor t -> {
                        v = a.allocate(ADDRESS);
                        v.set(ADDRESS, 0, buffer(t));
                    }
                    case Integer x -> v = a.allocateFrom(JAVA_INT, x);
                    case Float x -> v = a.allocateFrom(JAVA_FLOAT, x);
                    case int[] s -> v = a.allocateFrom(JAVA_INT, s);
                    default -> throw new IllegalArgumentException("opencl: kernel argument of type " + args[i].getClass());
                }
                OpenCl.check(Ffm.call(OpenCl.setKernelArg, k, i, v.byteSize(), v), "clSetKernelArg " + name + " #" + i);
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
            OpenCl.check(Ffm.call(OpenCl.enqueueNDRangeKernel, queue, k, dims, MemorySegment.NULL, g, l, 0,
                    MemorySegment.NULL, MemorySegment.NULL), "clEnqueueNDRangeKernel " + name);
        }
    }
}
