package dev.peco4j.bench;

import dev.peco4j.tensor.Backends;
import dev.peco4j.tensor.Device;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Times one whole training step of {@link Steps} in this JVM (bench/compare.sh starts one JVM per
 * case, so the peak RSS is the case's own) and appends a JSON line {case, threads, peer, seconds,
 * images, rss_mib, gc_share, alloc_mib, params} to a file. The timing rule of {@link Compare}: warm up for at
 * least 1 s and 3 steps, then the median of steps filling at least 2 s (at least 5); a step slower
 * than 5 s warms up 1 step and times 3 (bench/steps_torch.py does the same). gc_share is the
 * collectors' time over the timed steps' wall time; alloc_mib the heap allocated per timed step by all
 * threads (it includes what code not yet compiled by C2 allocates, such as boxed vectors).
 *
 * <pre>
 *   java ... dev.peco4j.bench.StepBench out.jsonl "step mim tiny 28px b128"
 *   java -XX:StartFlightRecording=... dev.peco4j.bench.StepBench out.jsonl "step mim tiny 28px b128" 30   # a profile of 30 s of steps
 *   java ... dev.peco4j.bench.StepBench out.jsonl "step mim tiny 28px b128" 2 15   # after 15 s of warm-up instead of 1
 *   java ... dev.peco4j.bench.StepBench --device opencl out.jsonl "step mim tiny 28px b128"   # on a device (each step synchronized)
 *   java ... dev.peco4j.bench.StepBench --list
 * </pre>
 */
public final class StepBench {
    private StepBench() {}

    /** A step slower than this (the 224-px cases on 2 cores) warms up 1 step and times 3. */
    private static final long SLOW_NANOS = 5_000_000_000L;

    public static void main(String[] argv) throws IOException {
        Device dev = Device.cpu();
        String[] args = argv;
        if (args.length >= 2 && args[0].equals("--device")) {                  // the step on a device: its models, state and batches live there
            dev = Device.get(args[1]);
            args = java.util.Arrays.copyOfRange(args, 2, args.length);
        }
        if (args.length == 1 && args[0].equals("--list")) {
            Steps.cases().keySet().forEach(System.out::println);
            return;
        }
        if (args.length == 1 && args[0].equals("--check")) {
            for (var e : Steps.cases().entrySet()) System.out.printf("%-36s %,d trained parameters%n", e.getKey(), e.getValue().get().params());
            return;
        }
        if (args.length < 2 || args.length > 4 || !Steps.cases().containsKey(args[1])) {
            throw new IllegalArgumentException("usage: StepBench [--device DEVICE] <out.jsonl> <case> [timed seconds, default 2 [warm-up seconds, default 1]] | --list | --check; cases: "
                    + Steps.cases().keySet());
        }
        long timedNanos = (long) (1e9 * (args.length >= 3 ? Double.parseDouble(args[2]) : 2));
        long warmNanos = (long) (1e9 * (args.length == 4 ? Double.parseDouble(args[3]) : 1));
        String name = args[1];
        int threads = Backends.threads();
        Steps.Step step = Steps.cases(dev).get(name).get();
        long start = System.nanoTime(), last = 0;
        for (int warm = 0; warm < 3 || System.nanoTime() - start < warmNanos; warm++) {
            if (warm >= 1 && last > SLOW_NANOS) break;
            long t = System.nanoTime();
            step.run().run();
            last = System.nanoTime() - t;
        }
        List<Double> runs = new ArrayList<>();
        long gc0 = gcMillis(), bytes0 = allocatedBytes();
        int minRuns = last > SLOW_NANOS ? 3 : 5;
        start = System.nanoTime();
        while (runs.size() < minRuns || System.nanoTime() - start < timedNanos) {
            long t = System.nanoTime();
            step.run().run();
            runs.add((System.nanoTime() - t) / 1e9);
        }
        double wall = (System.nanoTime() - start) / 1e9, gcShare = (gcMillis() - gc0) / 1e3 / wall;
        double allocMib = (allocatedBytes() - bytes0) / 1048576.0 / runs.size();
        double median = runs.stream().mapToDouble(Double::doubleValue).sorted().toArray()[runs.size() / 2];
        String line = String.format(Locale.ROOT, "{\"case\":\"%s\",\"threads\":%d,\"peer\":\"peco4j\",\"device\":\"%s\",\"seconds\":%.6g,\"images\":%d,"
                + "\"rss_mib\":%.1f,\"gc_share\":%.4f,\"alloc_mib\":%.1f,\"params\":%d,\"flops\":0}", name, threads, dev, median, step.images(), peakRssMib(),
                gcShare, allocMib, step.params());
        System.err.printf(Locale.ROOT, "peco4j  %-36s %s, %d threads: %.1f ms/step, %.1f images/s, GC %.1f%%, %.0f MiB allocated/step, peak RSS %.0f MiB%n",
                name, dev, threads, 1e3 * median, step.images() / median, 100 * gcShare, allocMib, peakRssMib());
        Path out = Path.of(args[0]);
        if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
        try (PrintStream ps = new PrintStream(Files.newOutputStream(out, StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
            ps.println(line);
        }
        System.exit(0);
    }

    /** Bytes allocated on the heap so far by all threads. */
    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }

    private static long gcMillis() {
        long t = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) t += Math.max(0, b.getCollectionTime());
        return t;
    }

    /** VmHWM of /proc/self/status (Linux), in MiB; NaN elsewhere. */
    static double peakRssMib() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024.0;
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
