package dev.peco4j.tensor;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * The OpenCL 1.2 calls peco4j makes, bound through the Foreign Function & Memory API to the system's
 * ICD loader ({@code libOpenCL.so.1}): no dependency, no JNI. {@link #UNAVAILABLE} says why OpenCL
 * cannot be used here (null when it can). Reads and writes of host arrays are critical downcalls, so
 * heap arrays pass without a copy.
 */
final class OpenCl {
    private OpenCl() {}

    static final long DEVICE_TYPE_GPU = 1L << 2, DEVICE_TYPE_ALL = 0xFFFFFFFFL;
    static final int DEVICE_TYPE = 0x1000, DEVICE_MAX_WORK_GROUP_SIZE = 0x1004, DEVICE_GLOBAL_MEM_SIZE = 0x101F,
            DEVICE_NAME = 0x102B, PLATFORM_NAME = 0x0902, PROGRAM_BUILD_LOG = 0x1183;
    static final long MEM_READ_WRITE = 1;

    private static final Map<Integer, String> ERRORS = Map.ofEntries(
            Map.entry(-1, "CL_DEVICE_NOT_FOUND"), Map.entry(-2, "CL_DEVICE_NOT_AVAILABLE"),
            Map.entry(-4, "CL_MEM_OBJECT_ALLOCATION_FAILURE"), Map.entry(-5, "CL_OUT_OF_RESOURCES"),
            Map.entry(-6, "CL_OUT_OF_HOST_MEMORY"), Map.entry(-11, "CL_BUILD_PROGRAM_FAILURE"),
            Map.entry(-30, "CL_INVALID_VALUE"), Map.entry(-33, "CL_INVALID_DEVICE"), Map.entry(-34, "CL_INVALID_CONTEXT"),
            Map.entry(-36, "CL_INVALID_COMMAND_QUEUE"), Map.entry(-38, "CL_INVALID_MEM_OBJECT"),
            Map.entry(-44, "CL_INVALID_PROGRAM"), Map.entry(-46, "CL_INVALID_KERNEL_NAME"), Map.entry(-48, "CL_INVALID_KERNEL"),
            Map.entry(-49, "CL_INVALID_ARG_INDEX"), Map.entry(-50, "CL_INVALID_ARG_VALUE"), Map.entry(-51, "CL_INVALID_ARG_SIZE"),
            Map.entry(-52, "CL_INVALID_KERNEL_ARGS"), Map.entry(-54, "CL_INVALID_WORK_GROUP_SIZE"),
            Map.entry(-61, "CL_INVALID_BUFFER_SIZE"), Map.entry(-1001, "CL_PLATFORM_NOT_FOUND_KHR"));

    static final String UNAVAILABLE;
    static final MethodHandle getPlatformIDs, getPlatformInfo, getDeviceIDs, getDeviceInfo, createContext, createCommandQueue,
            createBuffer, releaseMemObject, enqueueWriteBuffer, enqueueReadBuffer, createProgramWithSource,
            buildProgram, getProgramBuildInfo, createKernel, setKernelArg, enqueueNDRangeKernel, finish;

    static {
        SymbolLookup lib = null;
        String why = null;
        try {
            lib = SymbolLookup.libraryLookup("libOpenCL.so.1", Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            why = "no OpenCL ICD loader on this machine (libOpenCL.so.1 not found; Debian: ocl-icd-libopencl1 and a driver such as pocl-opencl-icd)";
        }
        UNAVAILABLE = why;
        FunctionDescriptor rw = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        getPlatformIDs = bind(lib, "clGetPlatformIDs", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), false);
        getPlatformInfo = bind(lib, "clGetPlatformInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), false);
        getDeviceIDs = bind(lib, "clGetDeviceIDs", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS), false);
        getDeviceInfo = bind(lib, "clGetDeviceInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), false);
        createContext = bind(lib, "clCreateContext", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS), false);
        createCommandQueue = bind(lib, "clCreateCommandQueue", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS), false);
        createBuffer = bind(lib, "clCreateBuffer", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS), false);
        releaseMemObject = bind(lib, "clReleaseMemObject", FunctionDescriptor.of(JAVA_INT, ADDRESS), false);
        enqueueWriteBuffer = bind(lib, "clEnqueueWriteBuffer", rw, true);
        enqueueReadBuffer = bind(lib, "clEnqueueReadBuffer", rw, true);
        createProgramWithSource = bind(lib, "clCreateProgramWithSource", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS), false);
        buildProgram = bind(lib, "clBuildProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS), false);
        getProgramBuildInfo = bind(lib, "clGetProgramBuildInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), false);
        createKernel = bind(lib, "clCreateKernel", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS), false);
        setKernelArg = bind(lib, "clSetKernelArg", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS), false);
        enqueueNDRangeKernel = bind(lib, "clEnqueueNDRangeKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), false);
        finish = bind(lib, "clFinish", FunctionDescriptor.of(JAVA_INT, ADDRESS), false);
    }

    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor fd, boolean critical) {
        return Ffm.bind(lib, "libOpenCL.so.1", name, fd, critical);
    }

    /** Throws, naming the call and the error, unless code is CL_SUCCESS. */
    static void check(int code, String call) {
        if (code != 0) throw new IllegalStateException("opencl: " + call + " failed: " + ERRORS.getOrDefault(code, "error") + " (" + code + ")");
    }
}
