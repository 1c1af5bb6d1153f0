package dev.peco4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/** Says why {@code cuda} cannot start here, in one line: no driver, or no CUDA backend in this build. */
final class CudaProbe {
    private CudaProbe() {}

    static DeviceUnavailableException unavailable(int index) {
        try {
            SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            return new DeviceUnavailableException("cuda:" + index + ": no NVIDIA driver on this machine (libcuda.so.1 not found)");
        }
        return new DeviceUnavailableException("cuda:" + index + ": an NVIDIA driver is present, but this build has no CUDA backend yet; "
                + "use --device opencl (the driver's OpenCL) or cpu");
    }
}
