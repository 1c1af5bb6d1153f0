package dev.peco4j.peco.tokenizer;

/**
 * How a codebook is used over a whole evaluation set (not per batch): per-code counts, the codes
 * used at least once, the perplexity exp(H(p)) of the code frequencies p (K when all codes are
 * equally frequent, 1 when one code takes all), and the dead codes (never used).
 */
public final class CodeUsage {
    private final long[] counts;
    private long total;

    public CodeUsage(int codes) {
        counts = new long[codes];
    }

    /** Adds a batch's indices (any shape, values in [0, K)). */
    public void add(int[] indices) {
        for (int i : indices) {
            if (i < 0 || i >= counts.length) throw new IllegalArgumentException("CodeUsage: index " + i + " outside 0.." + (counts.length - 1));
            counts[i]++;
        }
        total += indices.length;
    }

    public long[] counts() {
        return counts.clone();
    }

    public int used() {
        int u = 0;
        for (long c : counts) if (c > 0) u++;
        return u;
    }

    public int dead() {
        return counts.length - used();
    }

    /** used / K. */
    public double usedFraction() {
        return (double) used() / counts.length;
    }

    public double perplexity() {
        if (total == 0) return 0;
        double h = 0;
        for (long c : counts) {
            if (c == 0) continue;
            double p = (double) c / total;
            h -= p * Math.log(p);
        }
        return Math.exp(h);
    }
}
