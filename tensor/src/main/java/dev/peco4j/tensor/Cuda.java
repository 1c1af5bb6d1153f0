package dev.peco4j.tensor;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CUDA driver API calls peco4j makes, bound through the Foreign Function & Memory API to
 * {@code libcuda.so.1} (the driver; no toolkit needed), and NVRTC, the run-time compiler, where one
 * is installed. {@link #UNAVAILABLE} says why CUDA cannot be used here (null when it can);
 * {@link #NVRTC_UNAVAILABLE} why kernels come from the shipped PTX instead of NVRTC. Copies between
 * device memory and host arrays are critical downcalls, so heap arrays pass without a copy.
 */
final class Cuda {
    private Cuda() {}

    static final int SUCCESS = 0, ERROR_OUT_OF_MEMORY = 2, ERROR_NO_DEVICE = 100;
    static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75, ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    static final int MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;
    static final int JIT_ERROR_LOG_BUFFER = 5, JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

    private static final List<String> MISSING = new ArrayList<>();
    static final String UNAVAILABLE, NVRTC_UNAVAILABLE, NVRTC_LIBRARY;
    static final MethodHandle init, driverGetVersion, getErrorName, deviceGetCount, deviceGet, deviceGetName, deviceTotalMem,
            deviceGetAttribute, primaryCtxRetain, ctxSetCurrent, streamCreate, streamSynchronize, moduleLoadDataEx, moduleGetFunction,
            memAllocAsync, memFreeAsync, deviceGetDefaultMemPool, memPoolSetAttribute, memcpyHtoD, memcpyDtoH, launchKernel;
    static final MethodHandle nvrtcCreateProgram, nvrtcCompileProgram, nvrtcGetProgramLogSize, nvrtcGetProgramLog, nvrtcGetPTXSize,
            nvrtcGetPTX, nvrtcDestroyProgram;

    static {
        SymbolLookup lib = null;
        String why = null;
        try {
            lib = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            why = "no NVIDIA driver on this machine (libcuda.so.1 not found)";
        }
        FunctionDescriptor i = FunctionDescriptor.of(JAVA_INT, JAVA_INT), p = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        init = bind(lib, "cuInit", i);
        driverGetVersion = bind(lib, "cuDriverGetVersion", p);
        getErrorName = bind(lib, "cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        deviceGetCount = bind(lib, "cuDeviceGetCount", p);
        deviceGet = bind(lib, "cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        deviceGetName = bind(lib, "cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        deviceTotalMem = bind(lib, "cuDeviceTotalMem_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        deviceGetAttribute = bind(lib, "cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        primaryCtxRetain = bind(lib, "cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        ctxSetCurrent = bind(lib, "cuCtxSetCurrent", p);
        streamCreate = bind(lib, "cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        streamSynchronize = bind(lib, "cuStreamSynchronize", p);
        moduleLoadDataEx = bind(lib, "cuModuleLoadDataEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        moduleGetFunction = bind(lib, "cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        memAllocAsync = bind(lib, "cuMemAllocAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        memFreeAsync = bind(lib, "cuMemFreeAsync", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        deviceGetDefaultMemPool = bind(lib, "cuDeviceGetDefaultMemPool", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        memPoolSetAttribute = bind(lib, "cuMemPoolSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        memcpyHtoD = bindCritical(lib, "cuMemcpyHtoD_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG));
        memcpyDtoH = bindCritical(lib, "cuMemcpyDtoH_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        launchKernel = bind(lib, "cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        if (why == null && !MISSING.isEmpty()) {
            why = "the NVIDIA driver is too old: libcuda.so.1 has no " + String.join(", ", MISSING) + " (peco4j needs CUDA 11.2 or newer)";
        }
        UNAVAILABLE = why;

        SymbolLookup nvrtc = null;
        String found = null;
        for (String candidate : nvrtcCandidates()) {
            try {
                nvrtc = SymbolLookup.libraryLookup(candidate, Arena.global());
                found = candidate;
                break;
            } catch (IllegalArgumentException | IllegalCallerException e) {
                // try the next name
            }
        }
        NVRTC_LIBRARY = found;
        NVRTC_UNAVAILABLE = nvrtc == null ? "no NVRTC (libnvrtc.so) on this machine" : null;
        String nv = found;
        nvrtcCreateProgram = Ffm.bind(nvrtc, nv, "nvrtcCreateProgram",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), false);
        nvrtcCompileProgram = Ffm.bind(nvrtc, nv, "nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), false);
        nvrtcGetProgramLogSize = Ffm.bind(nvrtc, nv, "nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
        nvrtcGetProgramLog = Ffm.bind(nvrtc, nv, "nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
        nvrtcGetPTXSize = Ffm.bind(nvrtc, nv, "nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
        nvrtcGetPTX = Ffm.bind(nvrtc, nv, "nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
        nvrtcDestroyProgram = Ffm.bind(nvrtc, nv, "nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS), false);
    }

    /**
     * Where NVRTC may be: the loader's path under its usual names (newest first), then the lib64 of
     * {@code $CUDA_HOME}, {@code $CUDA_PATH} and {@code /usr/local/cuda}.
     */
    private static List<String> nvrtcCandidates() {
        List<String> names = List.of("libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2");
        List<String> out = new ArrayList<>(names);
        List<String> homes = new ArrayList<>();
        for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"}) if (System.getenv(env) != null) homes.add(System.getenv(env));
        homes.add("/usr/local/cuda");
        for (String home : homes) {
            for (String name : names) {
                Path lib = Path.of(home, "lib64", name);
                if (Files.exists(lib)) out.add(lib.toString());
            }
        }
        return out;
    }

    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor fd) {
        return bind(lib, name, fd, false);
    }

    private static MethodHandle bindCritical(SymbolLookup lib, String name, FunctionDescriptor fd) {
        return bind(lib, name, fd, true);
    }

    /** The driver's function, or null (and its name in {@link #MISSING}) when this driver lacks it. */
    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor fd, boolean critical) {
        if (lib != null && lib.find(name).isEmpty()) {
            MISSING.add(name);
            return null;
        }
        return Ffm.bind(lib, "libcuda.so.1", name, fd, critical);
    }

    /** The driver's name for an error code, such as CUDA_ERROR_OUT_OF_MEMORY. */
    static String errorName(int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            if (getErrorName == null || Ffm.call(getErrorName, code, out) != SUCCESS) return "CUDA error";
            return out.get(ADDRESS, 0).reinterpret(256).getString(0);
        }
    }

    /** Throws, naming the call and the error, unless code is CUDA_SUCCESS. */
    static void check(int code, String call) {
        if (code != SUCCESS) throw new IllegalStateException("cuda: " + call + " failed: " + errorName(code) + " (" + code + ")");
    }

    /** Throws, naming the NVRTC call, unless code is NVRTC_SUCCESS. */
    static void checkNvrtc(int code, String call) {
        if (code != 0) throw new IllegalStateException("cuda: " + call + " failed (NVRTC error " + code + ")");
    }

    /** Initializes the driver (again is harmless); throws {@link DeviceUnavailableException} saying why it cannot start. */
    static synchronized void initialize(String device) {
        if (UNAVAILABLE != null) throw new DeviceUnavailableException(device + ": " + UNAVAILABLE);
        int rc = Ffm.call(init, 0);
        if (rc == ERROR_NO_DEVICE) throw new DeviceUnavailableException(device + ": the NVIDIA driver sees no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
        if (rc != SUCCESS) throw new DeviceUnavailableException(device + ": the NVIDIA driver does not start (cuInit: " + errorName(rc) + ")");
    }

    /** An int written by a call through its pointer argument. */
    static int intOut(Arena a, MethodHandle h, String call, Object... rest) {
        MemorySegment out = a.allocate(JAVA_INT);
        Object[] args = new Object[rest.length + 1];
        args[0] = out;
        System.arraycopy(rest, 0, args, 1, rest.length);
        check(Ffm.call(h, args), call);
        return out.get(JAVA_INT, 0);
    }
}
