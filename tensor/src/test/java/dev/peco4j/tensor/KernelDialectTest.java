package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device kernels are written once for OpenCL and CUDA: where CUDA's compiler is installed, the
 * same sources must compile as CUDA C, with one entry point per kernel (OpenCL's build is checked by
 * every OpenCL test; skipped, saying why, without nvcc); and the PTX shipped for machines without
 * NVRTC must have been made from these sources, with the same entry points.
 */
class KernelDialectTest {
    private static String resource(String name) throws IOException {
        try (InputStream in = KernelDialectTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void theKernelsCompileAsCudaC(@TempDir Path dir) throws Exception {
        Path nvcc = Path.of("/usr/local/cuda/bin/nvcc");
        if (!Files.isExecutable(nvcc)) nvcc = Path.of("/usr/local/bin/nvcc");
        Assumptions.assumeTrue(Files.isExecutable(nvcc), "no nvcc on this machine: the CUDA build of the kernels is not checked");
        String kernels = resource("kernels.gpu.c");
        Path src = Files.writeString(dir.resolve("kernels.cu"), resource("prelude.gpu.h") + "\n" + kernels);
        Process p = new ProcessBuilder(nvcc.toString(), "-ptx", "-arch=compute_80", src.toString(), "-o", dir.resolve("kernels.ptx").toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "nvcc did not finish");
        assertEquals(0, p.exitValue(), "nvcc: " + log);
        assertEquals(declaredKernels(kernels), entryPoints(Files.readString(dir.resolve("kernels.ptx"))), "one PTX entry point per kernel");
    }

    @Test
    void theShippedPtxIsMadeFromTheseSources() throws IOException {
        String ptx = CudaRuntime.shippedPtx(); // throws unless its first line names these sources' digest
        assertEquals(declaredKernels(resource("kernels.gpu.c")), entryPoints(ptx), "one entry point per kernel in kernels.ptx");
    }

    @Test
    void ptxMadeFromOtherSourcesIsRefused() {
        String ptx = CudaRuntime.shippedPtx();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudaRuntime.madeFrom(ptx, "0".repeat(64)));
        assertTrue(e.getMessage().contains("scripts/gen-ptx.sh"), e.getMessage());
    }

    private static int declaredKernels(String kernels) {
        int declared = 0;
        Matcher m = Pattern.compile("(?m)^(KERNEL [a-z]\\w*\\(|[A-Z_]+_KERNEL\\(\\w+,|ROW_REDUCE\\(\\w+,)").matcher(kernels);
        while (m.find()) declared++;
        return declared;
    }

    private static int entryPoints(String ptx) {
        Matcher entries = Pattern.compile("(?m)^\\.visible \\.entry").matcher(ptx);
        int found = 0;
        while (entries.find()) found++;
        return found;
    }
}
