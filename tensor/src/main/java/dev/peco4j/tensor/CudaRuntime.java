package dev.peco4j.tensor;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One CUDA device through the driver API: its primary context, one stream, and a module of the
 * kernels ({@code prelude.gpu.h} + {@code kernels.gpu.c}, compiled as CUDA C). The module comes from
 * NVRTC for this device's architecture where NVRTC is installed, else from the PTX shipped in the jar
 * ({@code kernels.ptx}, made by {@code scripts/gen-ptx.sh} for compute_75, which the driver compiles
 * for any newer GPU). Memory comes from the stream-ordered allocator, whose pool keeps freed memory
 * for reuse (PyTorch's caching allocator does the same); bookkeeping is {@link GpuRuntime}'s.
 *
 * <p>Kernels and frees are queued on the stream; copies to and from the host use the legacy default
 * stream, which waits for the (blocking) stream, so a copy sees every op queued before it.
 */
final class CudaRuntime extends GpuRuntime {
    private static final System.Logger LOG = System.getLogger("dev.peco4j.tensor");
    /** The block size of a launch without a local size (a one-dimensional one). */
    private static final int DEFAULT_BLOCK = 256;
    /** The shipped PTX's first line names the SHA-256 of the sources it was made from. */
    static final String PTX_HEADER = "// peco4j kernels.ptx: prelude.gpu.h + kernels.gpu.c, sha256 ";

    private final String description;
    private final MemorySegment context, stream, module;
    private final Map<String, MemorySegment> functions = new ConcurrentHashMap<>();

    private CudaRuntime(int index, int device, String deviceName, long memory) {
        super("cuda:" + index, memory);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            Cuda.check(Ffm.call(Cuda.primaryCtxRetain, out, device), "cuDevicePrimaryCtxRetain");
            context = out.get(ADDRESS, 0);
            enter();
            Cuda.check(Ffm.call(Cuda.streamCreate, out, 0), "cuStreamCreate");
            stream = out.get(ADDRESS, 0);
            MemorySegment pool = a.allocate(ADDRESS);
            if (Ffm.call(Cuda.deviceGetDefaultMemPool, pool, device) == Cuda.SUCCESS) {
                // Keep freed memory in the pool instead of returning it at every synchronization.
                Ffm.call(Cuda.memPoolSetAttribute, pool.get(ADDRESS, 0), Cuda.MEMPOOL_ATTR_RELEASE_THRESHOLD, a.allocateFrom(JAVA_LONG, -1L));
            }
            int major = Cuda.intOut(a, Cuda.deviceGetAttribute, "cuDeviceGetAttribute", Cuda.ATTR_COMPUTE_CAPABILITY_MAJOR, device);
            int minor = Cuda.intOut(a, Cuda.deviceGetAttribute, "cuDeviceGetAttribute", Cuda.ATTR_COMPUTE_CAPABILITY_MINOR, device);
            Kernels kernels = loadKernels(major * 10 + minor);
            module = kernels.module();
            int driver = Cuda.intOut(a, Cuda.driverGetVersion, "cuDriverGetVersion");
            description = deviceName + " (CUDA driver " + driver / 1000 + "." + driver % 1000 / 10 + ", compute " + major + "." + minor + ", " + (memory >> 20) + " MiB, kernels from " + kernels.from() + ")";
        }
    }

    /** The kernels' module, and where it came from (for the description). */
    private record Kernels(MemorySegment module, String from) {}

    /** Opens the index-th CUDA device of this machine. */
    static CudaRuntime open(int index) {
        Cuda.initialize("cuda:" + index);
        try (Arena a = Arena.ofConfined()) {
            int count = Cuda.intOut(a, Cuda.deviceGetCount, "cuDeviceGetCount");
            if (index >= count) {
                throw new DeviceUnavailableException("cuda:" + index + ": this machine has " + count + " CUDA device" + (count == 1 ? "" : "s"));
            }
            int device = Cuda.intOut(a, Cuda.deviceGet, "cuDeviceGet", index);
            return new CudaRuntime(index, device, deviceName(a, device), totalMemory(a, device));
        }
    }

    /** Each CUDA device as "name (CUDA, memory)", in index order. */
    static List<String> names() {
        Cuda.initialize("cuda");
        List<String> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            int count = Cuda.intOut(a, Cuda.deviceGetCount, "cuDeviceGetCount");
            for (int k = 0; k < count; k++) {
                int device = Cuda.intOut(a, Cuda.deviceGet, "cuDeviceGet", k);
                out.add(deviceName(a, device) + " (CUDA, " + (totalMemory(a, device) >> 20) + " MiB)");
            }
        }
        if (out.isEmpty()) throw new DeviceUnavailableException("cuda: the NVIDIA driver sees no CUDA device");
        return out;
    }

    private static String deviceName(Arena a, int device) {
        MemorySegment name = a.allocate(256);
        Cuda.check(Ffm.call(Cuda.deviceGetName, name, 256, device), "cuDeviceGetName");
        return name.getString(0).strip();
    }

    private static long totalMemory(Arena a, int device) {
        MemorySegment bytes = a.allocate(JAVA_LONG);
        Cuda.check(Ffm.call(Cuda.deviceTotalMem, bytes, device), "cuDeviceTotalMem");
        return bytes.get(JAVA_LONG, 0);
    }

    /**
     * The kernels' module: NVRTC's PTX for this architecture when NVRTC is here, else the shipped PTX;
     * each candidate the driver refuses (a PTX newer than the driver, say) gives way to the next.
     */
    private Kernels loadKernels(int arch) {
        List<String> failures = new ArrayList<>();
        if (Cuda.NVRTC_UNAVAILABLE == null) {
            try {
                return new Kernels(loadPtx(compileWithNvrtc(arch)), "NVRTC for compute_" + arch);
            } catch (IllegalStateException e) {
                failures.add("NVRTC (" + Cuda.NVRTC_LIBRARY + "): " + e.getMessage());
            }
        } else {
            failures.add(Cuda.NVRTC_UNAVAILABLE);
        }
        try {
            Kernels shipped = new Kernels(loadPtx(shippedPtx()), "the shipped PTX");
            if (Cuda.NVRTC_UNAVAILABLE == null) LOG.log(Level.WARNING, name + ": using the shipped PTX: " + failures.getFirst());
            return shipped;
        } catch (IllegalStateException e) {
            failures.add("shipped PTX: " + e.getMessage());
        }
        throw new DeviceUnavailableException(name + ": the kernels do not load: " + String.join("; ", failures));
    }

    /** The PTX shipped in the jar, checked against the kernel sources it was made from. */
    static String shippedPtx() {
        return madeFrom(resource("kernels.ptx"), sourceDigest());
    }

    /** ptx, when its first line names the sources of the given digest. */
    static String madeFrom(String ptx, String digest) {
        if (!ptx.startsWith(PTX_HEADER + digest)) {
            throw new IllegalStateException("kernels.ptx was not made from these kernel sources (run scripts/gen-ptx.sh)");
        }
        return ptx;
    }

    /** The SHA-256 of {@link #kernelSource()}, in hex. */
    static String sourceDigest() {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(kernelSource().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static String compileWithNvrtc(int arch) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ADDRESS);
            Cuda.checkNvrtc(Ffm.call(Cuda.nvrtcCreateProgram, prog, a.allocateFrom(kernelSource()), a.allocateFrom("kernels.cu"), 0,
                    MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment p = prog.get(ADDRESS, 0);
            try {
                MemorySegment options = a.allocate(ADDRESS, 2);
                options.setAtIndex(ADDRESS, 0, a.allocateFrom("--gpu-architecture=compute_" + arch));
                options.setAtIndex(ADDRESS, 1, a.allocateFrom("--fmad=true"));
                int rc = Ffm.call(Cuda.nvrtcCompileProgram, p, 2, options);
                if (rc != 0) {
                    MemorySegment size = a.allocate(JAVA_LONG);
                    Ffm.call(Cuda.nvrtcGetProgramLogSize, p, size);
                    MemorySegment log = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
                    Ffm.call(Cuda.nvrtcGetProgramLog, p, log);
                    throw new IllegalStateException("the kernels do not compile for compute_" + arch + ": " + log.getString(0).strip());
                }
                MemorySegment size = a.allocate(JAVA_LONG);
                Cuda.checkNvrtc(Ffm.call(Cuda.nvrtcGetPTXSize, p, size), "nvrtcGetPTXSize");
                MemorySegment ptx = a.allocate(size.get(JAVA_LONG, 0));
                Cuda.checkNvrtc(Ffm.call(Cuda.nvrtcGetPTX, p, ptx), "nvrtcGetPTX");
                return ptx.getString(0);
            } finally {
                Ffm.call(Cuda.nvrtcDestroyProgram, prog);
            }
        }
    }

    /** Loads PTX into a module of this context; the driver's JIT log is in the error. */
    private MemorySegment loadPtx(String ptx) {
        try (Arena a = Arena.ofConfined()) {
            int logSize = 8192;
            MemorySegment log = a.allocate(logSize);
            MemorySegment options = a.allocateFrom(JAVA_INT, Cuda.JIT_ERROR_LOG_BUFFER, Cuda.JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            MemorySegment values = a.allocate(ADDRESS, 2);
            values.setAtIndex(ADDRESS, 0, log);
            values.setAtIndex(ADDRESS, 1, MemorySegment.ofAddress(logSize));
            MemorySegment out = a.allocate(ADDRESS);
            int rc = Ffm.call(Cuda.moduleLoadDataEx, out, a.allocateFrom(ptx), 2, options, values);
            if (rc != Cuda.SUCCESS) {
                throw new IllegalStateException("cuModuleLoadDataEx: " + Cuda.errorName(rc) + " " + log.getString(0).strip());
            }
            return out.get(ADDRESS, 0);
        }
    }

    /** Makes this device's context the calling thread's (each JVM thread that calls in needs it; the call is cheap). */
    @Override
    void enter() {
        Cuda.check(Ffm.call(Cuda.ctxSetCurrent, context), "cuCtxSetCurrent");
    }

    @Override
    String kind() {
        return "cuda";
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    MemorySegment create(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            int rc = Ffm.call(Cuda.memAllocAsync, out, bytes, stream);
            if (rc == Cuda.ERROR_OUT_OF_MEMORY) return null;
            Cuda.check(rc, "cuMemAllocAsync");
            return MemorySegment.ofAddress(out.get(JAVA_LONG, 0));
        }
    }

    @Override
    void release(MemorySegment buffer) {
        Cuda.check(Ffm.call(Cuda.memFreeAsync, buffer.address(), stream), "cuMemFreeAsync");
    }

    @Override
    void write(MemorySegment buffer, MemorySegment host, long bytes) {
        Cuda.check(Ffm.call(Cuda.memcpyHtoD, buffer.address(), host, bytes), "cuMemcpyHtoD");
    }

    @Override
    void read(MemorySegment buffer, MemorySegment host, long bytes) {
        Cuda.check(Ffm.call(Cuda.memcpyDtoH, host, buffer.address(), bytes), "cuMemcpyDtoH");
    }

    @Override
    void finish() {
        Cuda.check(Ffm.call(Cuda.streamSynchronize, stream), "cuStreamSynchronize");
    }

    private MemorySegment function(String kernel) {
        return functions.computeIfAbsent(kernel, k -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ADDRESS);
                Cuda.check(Ffm.call(Cuda.moduleGetFunction, out, module, a.allocateFrom(k)), "cuModuleGetFunction " + k);
                return out.get(ADDRESS, 0);
            }
        });
    }

    @Override
    void enqueue(String kernel, long[] global, long[] local, Object... args) {
        MemorySegment f = function(kernel);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                MemorySegment v = switch (args[i]) {
                    case Tensor t -> a.allocateFrom(JAVA_LONG, buffer(t).address());
                    case Integer x -> a.allocateFrom(JAVA_INT, x);
                    case Float x -> a.allocateFrom(JAVA_FLOAT, x);
                    case int[] s -> a.allocateFrom(JAVA_INT, s);
                    default -> throw new IllegalArgumentException("cuda: kernel argument of type " + args[i].getClass());
                };
                params.setAtIndex(ADDRESS, i, v);
            }
            int[] grid = {1, 1, 1}, block = {1, 1, 1};
            for (int d = 0; d < global.length; d++) {
                long size = Math.max(1, global[d]);
                int b = local != null ? (int) local[d] : d == 0 ? DEFAULT_BLOCK : 1;
                block[d] = b;
                grid[d] = Math.toIntExact((size + b - 1) / b);
            }
            Cuda.check(Ffm.call(Cuda.launchKernel, f, grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, stream, params,
                    MemorySegment.NULL), "cuLaunchKernel " + kernel);
        }
    }
}
