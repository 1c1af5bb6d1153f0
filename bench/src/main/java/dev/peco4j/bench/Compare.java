package dev.peco4j.bench;

import dev.peco4j.tensor.Backends;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Java half of the comparison (bench/compare.sh runs it once per thread count, with
 * -Dpeco4j.threads): times every workload on peco4j and, where DJL is on the class path, sgemm on
 * libtorch 2.7.1, and appends JSON lines {case, threads, peer, seconds, flops} to a file, after one
 * line of the machine's measured FMA peak and memory bandwidth ({@link Peak}). The same
 * timing rule as compare_torch.py: warm up for at least 1 s and 3 runs, then the median of runs
 * filling at least 2 s (at least 5).
 */
public final class Compare {
    /** The cases shared with compare_torch.py: name → workload factory. */
    static Map<String, java.util.function.Supplier<Workloads.Workload>> cases() {
        Map<String, java.util.function.Supplier<Workloads.Workload>> m = new LinkedHashMap<>();
        for (int n : new int[] {256, 512, 1024, 2048}) m.put("sgemm n=" + n, () -> Workloads.sgemm(n));
        m.put("conv3x3 fwd+bwd 8x128x32x32", () -> Workloads.conv3x3(8, 128, 32));
        m.put("depthwise conv3x3 s1 fwd+bwd 8x96x56x56", () -> Workloads.depthwise(8, 96, 56, 1));
        m.put("depthwise conv3x3 s2 fwd+bwd 8x144x56x56", () -> Workloads.depthwise(8, 144, 56, 2));
        m.put("attention fwd+bwd B8 H12 N197 D64", () -> Workloads.attention(8, 12, 197, 64));
        m.put("layernorm fwd+bwd 8x197x768", () -> Workloads.layerNorm(8, 197, 768));
        m.put("groupnorm+silu fwd+bwd 2x128x64x64 G32", () -> Workloads.groupNormSilu(2, 128, 64, 32));
        m.put("linear+gelu fwd+bwd 1576x768->3072", () -> Workloads.linearGelu(8 * 197, 768, 3072));
        m.put("cross-entropy fwd+bwd 600x8192", () -> Workloads.crossEntropy(8 * 75, 8192));
        m.put("nearest code 1568x256 in 8192", () -> Workloads.nearestCode(8 * 196, 256, 8192, true));
        m.put("nearest code 1568x256 in 8192, unfused ops", () -> Workloads.nearestCode(8 * 196, 256, 8192, false));
        m.put("beit block fwd+bwd ViT-B 8x197x768", () -> Workloads.beitBlock(8, 197, 768, 12));
        return m;
    }

    /** Median seconds of one run, after warm-up. */
    static double time(Runnable r) {
        long start = System.nanoTime();
        int warm = 0;
        while (warm < 3 || System.nanoTime() - start < 1_000_000_000L) {
            r.run();
            warm++;
        }
        List<Double> runs = new ArrayList<>();
        start = System.nanoTime();
        while (runs.size() < 5 || System.nanoTime() - start < 2_000_000_000L) {
            long t = System.nanoTime();
            r.run();
            runs.add((System.nanoTime() - t) / 1e9);
        }
        double[] s = runs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s[s.length / 2];
    }

    static String json(String c, int threads, String peer, double seconds, double flops) {
        return String.format(Locale.ROOT, "{\"case\":\"%s\",\"threads\":%d,\"peer\":\"%s\",\"seconds\":%.6g,\"flops\":%.6g}",
                c, threads, peer, seconds, flops);
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "bench/target/compare.jsonl");
        List<String> only = args.length > 1 ? Arrays.asList(args[1].split(",")) : List.of();
        int threads = Backends.threads();
        System.err.println("peco4j backend: " + Backends.cpuName());
        List<String> lines = new ArrayList<>();
        Peak.Result peak = Peak.measure(threads);                                  // this machine's limits, in the same run
        lines.add(peak.json());
        System.err.printf(Locale.ROOT, "machine %d threads, %d float lanes: FMA peak %.1f GFLOP/s, triad %.1f GB/s%n", threads, peak.lanes(),
                peak.fmaGflops(), peak.triadGBs());
        for (var e : cases().entrySet()) {
            if (!only.isEmpty() && only.stream().noneMatch(e.getKey()::startsWith)) continue;
            Workloads.Workload w = e.getValue().get();
            double s = time(w::run);
            lines.add(json(e.getKey(), threads, "peco4j", s, w.flops()));
            System.err.printf(Locale.ROOT, "peco4j  %-40s %d threads: %.4f s%n", e.getKey(), threads, s);
        }
        lines.addAll(libtorch(threads, only));
        Files.createDirectories(out.toAbsolutePath().getParent());
        try (PrintStream ps = new PrintStream(Files.newOutputStream(out, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND))) {
            lines.forEach(ps::println);
        }
        System.exit(0);
    }

    /** sgemm on libtorch through DJL when the djl profile put it on the class path. */
    @SuppressWarnings("unchecked")
    private static List<String> libtorch(int threads, List<String> only) {
        try {
            Class<?> peer = Class.forName("dev.peco4j.bench.DjlPeer");
            return (List<String>) peer.getMethod("run", int.class, List.class).invoke(null, threads, only);
        } catch (ClassNotFoundException e) {
            System.err.println("libtorch (DJL) is not on the class path: build bench with -Pdjl to include it");
            return List.of();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("libtorch peer failed", e);
        }
    }
}
