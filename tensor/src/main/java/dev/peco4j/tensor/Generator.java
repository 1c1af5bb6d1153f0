package dev.peco4j.tensor;

import java.util.random.RandomGenerator;

/**
 * A seeded, counter-based random generator (Philox4x32-10, the generator PyTorch uses on GPUs),
 * behind the JDK's {@link RandomGenerator} interface.
 *
 * <p>Why counter-based rather than the JDK's L64X128MixRandom: element i of a random tensor is a
 * pure function of (key, counter + i), so a fill can be split over any number of threads and stay
 * bit-identical; and the whole state is two longs, which checkpoints save and restore exactly.
 * {@link #split()} gives an independent stream (a new key) for each worker; {@link #advance(long)}
 * jumps ahead.
 *
 * <pre>{@code
 * Generator gen = new Generator(42);
 * Tensor w = Tensor.randn(gen, 3, 4);   // consumes 12 counters
 * Generator worker = gen.split();        // independent, reproducible stream
 * }</pre>
 */
public final class Generator implements RandomGenerator {
    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    private final long key;
    private long counter;

    public Generator(long seed) {
        this(seed, 0);
    }

    private Generator(long key, long counter) {
        this.key = key;
        this.counter = counter;
    }

    /**
     * A generator for one named stream of a run: its key mixes seed and path (SplitMix64 finalizer per
     * element), so {@code derive(seed, EPOCH_SHUFFLE, epoch)} is the same on every run, thread and resume.
     */
    public static Generator derive(long seed, long... path) {
        long k = mix(seed + 0x9E3779B97F4A7C15L);
        for (long p : path) k = mix(k ^ mix(p + 0x632BE59BD9B4E019L));
        return new Generator(k, 0);
    }

    /** The generator at exactly the state {@link #state()} returned. */
    public static Generator fromState(long[] state) {
        if (state.length != 2) throw new IllegalArgumentException("Generator state must be 2 longs, got " + state.length);
        return new Generator(state[0], state[1]);
    }

    /** {key, counter}: enough to continue the stream exactly. */
    public long[] state() {
        return new long[] {key, counter};
    }

    /** A new generator with an independent key derived from this stream (this one advances by one). */
    public Generator split() {
        return new Generator(mix(nextLong()), 0);
    }

    /** Skips n draws. */
    public void advance(long n) {
        counter += n;
    }

    /** Reserves n consecutive counters and returns the first; element i then uses {@code block(first + i)}. */
    long take(int n) {
        long first = counter;
        counter += n;
        return first;
    }

    /** The four 32-bit words of Philox4x32-10 at one counter value. */
    int[] block(long ctr) {
        return philox(new int[] {(int) ctr, (int) (ctr >>> 32), 0, 0}, (int) key, (int) (key >>> 32));
    }

    /** Philox4x32-10 of a 128-bit counter under a 64-bit key (Salmon et al., SC 2011). */
    static int[] philox(int[] ctr, int k0, int k1) {
        int c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0, hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
            k0 += W0;
            k1 += W1;
        }
        return new int[] {c0, c1, c2, c3};
    }

    /** Uniform in [0, 1) with 53 random bits, from words 0 and 1 of a block. */
    static double uniform(int[] w) {
        long bits = ((long) w[0] << 32) | (w[1] & 0xFFFFFFFFL);
        return (bits >>> 11) * 0x1.0p-53;
    }

    /** Standard normal by Box–Muller from the four words of one block. */
    static double normal(int[] w) {
        double u1 = uniform(w);
        long bits = ((long) w[2] << 32) | (w[3] & 0xFFFFFFFFL);
        double u2 = (bits >>> 11) * 0x1.0p-53;
        return Math.sqrt(-2.0 * Math.log1p(-u1)) * Math.cos(2.0 * Math.PI * u2);
    }

    @Override
    public long nextLong() {
        int[] w = block(counter++);
        return ((long) w[0] << 32) | (w[1] & 0xFFFFFFFFL);
    }

    @Override
    public double nextDouble() {
        return uniform(block(counter++));
    }

    @Override
    public double nextGaussian() {
        return normal(block(counter++));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
