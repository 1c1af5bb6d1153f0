package dev.peco4j.tensor;

/** {@link GpuBackendTest} on the first CUDA device; skipped, saying why, without an NVIDIA driver and GPU. */
class CudaBackendTest extends GpuBackendTest {
    @Override
    String deviceName() {
        return "cuda";
    }
}
