package dev.peco4j.bench;

import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's own limits, measured in the same run as the benchmarks, so that every GFLOP/s figure
 * also reads as a share of what this CPU can do:
 * <ul>
 *   <li><b>FMA peak</b>: per thread, 12 independent chains of fused multiply-adds on the widest float
 *       vector the JVM uses (more chains than FMA latency × FMA ports on current x86 cores, so the
 *       ports never wait), 2 FLOPs per lane each;</li>
 *   <li><b>memory bandwidth</b>: STREAM's triad a[i] = b[i] + s·c[i] over arrays of 32 MiB each (far
 *       beyond the caches), 12 bytes per element counted as STREAM counts them.</li>
 * </ul>
 * Each is the best of several timed repetitions after a warm-up, on {@code threads} threads started
 * together.
 */
public final class Peak {
    private Peak() {}

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** GFLOP/s of fused multiply-adds and GB/s of the triad on the given number of threads. */
    public record Result(int threads, int lanes, double fmaGflops, double triadGBs) {
        public String json() {
            return String.format(Locale.ROOT, "{\"case\":\"peak\",\"threads\":%d,\"peer\":\"machine\",\"lanes\":%d,\"fma_gflops\":%.2f,\"triad_gbs\":%.2f}",
                    threads, lanes, fmaGflops, triadGBs);
        }
    }

    public static Result measure(int threads) {
        long iters = 20_000_000;
        fmaSeconds(threads, iters / 10);                                          // warm-up: the JIT compiles the loop
        double best = Double.MAX_VALUE;
        for (int r = 0; r < 5; r++) best = Math.min(best, fmaSeconds(threads, iters));
        double flops = 2.0 * 12 * SPECIES.length() * iters * threads;

        int n = 8 << 20;                                                          // 8 Mi floats = 32 MiB per array
        float[] a = new float[n], b = new float[n], c = new float[n];
        java.util.Arrays.fill(b, 1f);
        java.util.Arrays.fill(c, 2f);
        triadSeconds(threads, a, b, c);
        double bestTriad = Double.MAX_VALUE;
        for (int r = 0; r < 10; r++) bestTriad = Math.min(bestTriad, triadSeconds(threads, a, b, c));
        return new Result(threads, SPECIES.length(), flops / best / 1e9, 12.0 * n / bestTriad / 1e9);
    }

    /** Seconds for every thread to run iters × 12 vector FMAs. */
    static double fmaSeconds(int threads, long iters) {
        float[] sink = new float[threads];
        return parallel(threads, t -> sink[t] = fmaChains(iters));
    }

    static float fmaChains(long iters) {
        FloatVector x = FloatVector.broadcast(SPECIES, 0.999999f), y = FloatVector.broadcast(SPECIES, 1e-7f);
        FloatVector a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(x, y);
            a1 = a1.fma(x, y);
            a2 = a2.fma(x, y);
            a3 = a3.fma(x, y);
            a4 = a4.fma(x, y);
            a5 = a5.fma(x, y);
            a6 = a6.fma(x, y);
            a7 = a7.fma(x, y);
            a8 = a8.fma(x, y);
            a9 = a9.fma(x, y);
            a10 = a10.fma(x, y);
            a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).reduceLanes(VectorOperators.ADD);
    }

    /** Seconds of one triad over the arrays, split into equal contiguous parts. */
    static double triadSeconds(int threads, float[] a, float[] b, float[] c) {
        int n = a.length, upper = SPECIES.loopBound(n / threads);
        return parallel(threads, t -> {
            int from = t * (n / threads), to = from + upper;
            FloatVector s = FloatVector.broadcast(SPECIES, 3f);
            for (int i = from; i < to; i += SPECIES.length()) {
                FloatVector.fromArray(SPECIES, b, i).add(FloatVector.fromArray(SPECIES, c, i).mul(s)).intoArray(a, i);
            }
        });
    }

    private interface Part {
        void run(int thread);
    }

    /** Runs part(0..threads-1) on that many threads started together; the wall time from the start signal to the last finish. */
    private static double parallel(int threads, Part part) {
        CountDownLatch go = new CountDownLatch(1), done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    go.await();
                    part.run(id);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            });
            th.setDaemon(true);
            th.start();
        }
        long start = System.nanoTime();
        go.countDown();
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("peak: interrupted", e);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    public static void main(String[] args) {
        for (int t = 1; t <= Math.max(1, Integer.parseInt(args.length > 0 ? args[0] : "2")); t++) {
            Result r = measure(t);
            System.out.printf(Locale.ROOT, "%d thread(s), %d float lanes: FMA %.1f GFLOP/s, triad %.1f GB/s%n", t, r.lanes(), r.fmaGflops(), r.triadGBs());
        }
    }
}
