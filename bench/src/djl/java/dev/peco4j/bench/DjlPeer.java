package dev.peco4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** libtorch 2.7.1 (DJL's pytorch-native-cpu, MKL) as a peer for sgemm, in the same JVM and run. */
public final class DjlPeer {
    private DjlPeer() {}

    public static List<String> run(int threads, List<String> only) {
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        List<String> lines = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            for (int n : new int[] {256, 512, 1024, 2048}) {
                String name = "sgemm n=" + n;
                if (!only.isEmpty() && only.stream().noneMatch(name::startsWith)) continue;
                NDArray a = m.randomNormal(new Shape(n, n)), b = m.randomNormal(new Shape(n, n));
                double s = Compare.time(() -> a.matMul(b).close()); // libtorch's CPU ops are synchronous
                lines.add(Compare.json(name, threads, "libtorch 2.7.1 (DJL)", s, 2.0 * n * n * n));
                System.err.printf(Locale.ROOT, "libtorch %-39s %d threads: %.4f s%n", name, threads, s);
            }
        }
        return lines;
    }
}
