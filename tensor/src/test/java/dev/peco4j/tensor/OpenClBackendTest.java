package dev.peco4j.tensor;

/** {@link GpuBackendTest} on the first OpenCL device (CI: Debian's PoCL). */
class OpenClBackendTest extends GpuBackendTest {
    @Override
    String deviceName() {
        return "opencl";
    }
}
