package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA runtime's Java side on a machine without a GPU. {@code mock_cuda.c} stands in for
 * {@code libcuda.so.1} (device memory in host memory; the copy kernel and a clamp run in C) and for
 * {@code libnvrtc.so}. It is compiled here and put first on the loader path of a child JVM, which
 * ({@link Probe}) opens {@code cuda}, moves tensors both ways, launches kernels on views, meets a
 * driver error, and frees what it dropped: once with NVRTC compiling the kernels, once with NVRTC
 * failing and the shipped PTX taking over. The kernels themselves on a GPU are {@link CudaBackendTest}'s,
 * where one exists. Skipped, saying why, without a C compiler.
 */
class CudaRuntimeTest {
    @Test
    void theDriverBindingsWorkAgainstAStandInDriver(@TempDir Path dir) throws Exception {
        Path cc = Path.of("/usr/bin/cc");
        Assumptions.assumeTrue(Files.isExecutable(cc), "no C compiler (/usr/bin/cc): the CUDA bindings are not exercised");
        Path src = dir.resolve("mock_cuda.c");
        try (InputStream in = CudaRuntimeTest.class.getResourceAsStream("mock_cuda.c")) {
            Files.copy(in, src);
        }
        run(List.of(cc.toString(), "-O1", "-shared", "-fPIC", "-o", dir.resolve("libcuda.so.1").toString(), src.toString()), dir, false, "cc");
        Files.copy(dir.resolve("libcuda.so.1"), dir.resolve("libnvrtc.so"));
        String java = ProcessHandle.current().info().command().orElseThrow();
        for (boolean nvrtcFails : new boolean[] {false, true}) {
            String kernels = nvrtcFails ? "the shipped PTX" : "NVRTC for compute_90";
            String out = run(List.of(java, "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), Probe.class.getName(), kernels), dir, nvrtcFails, "the probe JVM");
            assertTrue(out.contains("mock cuda: every check passed"), out);
            if (nvrtcFails) {
                assertTrue(out.contains("cuda:0: using the shipped PTX: NVRTC (libnvrtc.so): the kernels do not compile for compute_90: "
                        + "mock: compilation refused"), out);
            }
            System.out.println(out.strip().lines().reduce((first, last) -> last).orElseThrow());
        }
    }

    private static String run(List<String> command, Path dir, boolean nvrtcFails, String what) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("LD_LIBRARY_PATH", dir.toString());
        if (nvrtcFails) pb.environment().put("MOCK_NVRTC_FAIL", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), what + " did not finish");
        assertEquals(0, p.exitValue(), what + " failed:\n" + out);
        return out;
    }

    /** Runs in the child JVM, whose libcuda.so.1 is the stand-in. */
    static final class Probe {
        public static void main(String[] args) throws Throwable {
            List<String> devices = Device.available();
            assertTrue(devices.contains("cuda:0: Mock GPU (CUDA, 1024 MiB)"), devices.toString());
            Device d = Device.get("cuda");
            assertSame(d, Device.get("cuda:0"));
            assertEquals("cuda:0: Mock GPU (CUDA driver 12.8, compute 9.0, 1024 MiB, kernels from " + args[0] + ")", d.description());

            Tensor x = Tensor.randn(new Generator(1), 3, 4, 5);
            Tensor y = x.to(d);
            assertSame(d, y.device());
            assertArrayEquals(x.toFloatArray(), y.toFloatArray(), "a round trip through device memory");
            Tensor view = y.permute(2, 0, 1).slice(1, 1, 3, 1).contiguous(); // copy_f through a strided view
            assertSame(d, view.device());
            assertArrayEquals(x.permute(2, 0, 1).slice(1, 1, 3, 1).contiguous().toFloatArray(), view.toFloatArray(), "copy_f");
            Tensor run = y.reshape(-1).slice(0, 7, 60, 1); // map_f: a buffer, an offset, ints and floats
            assertArrayEquals(x.reshape(-1).slice(0, 7, 60, 1).clamp(-0.5, 1.5).toFloatArray(),
                    d.backend().map(UnaryOps.clamp(-0.5, 1.5), run).toFloatArray(), "map_f");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> y.to(DType.INT32).toIntArray());
            assertEquals("cuda: cuLaunchKernel cast_f_i failed: CUDA_ERROR_NOT_SUPPORTED (801)", e.getMessage());
            d.synchronize();

            MethodHandle liveBytes = Linker.nativeLinker().downcallHandle(
                    SymbolLookup.libraryLookup("libcuda.so.1", Arena.global()).find("mock_live_bytes").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG));
            for (int k = 0; k < 400; k++) Tensor.zeros(1 << 18).to(d); // 400 MiB allocated and dropped
            System.gc();
            Thread.sleep(200);
            Tensor kept = Tensor.ones(4).to(d); // an allocation releases what the cleaner handed over
            long driver = (long) liveBytes.invokeExact();
            assertEquals(d.memoryInUse(), driver, "the runtime's count of live bytes and the driver's");
            assertTrue(driver < 16 << 20, "dropped buffers were not freed: " + driver + " bytes live");
            assertArrayEquals(new float[] {1, 1, 1, 1}, kept.toFloatArray());
            System.out.println("mock cuda: every check passed (" + d.description() + ")");
        }
    }
}
