package dev.peco4j.peco.experiments;

import org.apache.commons.math3.stat.descriptive.SummaryStatistics;
import org.apache.commons.math3.stat.inference.TTest;

/** Mean ± sample standard deviation over seeds, and Welch's two-sided t-test (Apache Commons Math). */
public final class Stats {
    private Stats() {}

    public record Summary(double mean, double std, int n) {
        public String percent() {
            return n == 0 ? "–" : n == 1 ? String.format("%.2f", 100 * mean) : String.format("%.2f ± %.2f", 100 * mean, 100 * std);
        }
    }

    public static Summary summary(double[] values) {
        SummaryStatistics s = new SummaryStatistics();
        for (double v : values) s.addValue(v);
        return new Summary(s.getMean(), values.length > 1 ? s.getStandardDeviation() : 0, values.length);
    }

    /** Welch's t-test p-value (unequal variances, two-sided); NaN when either side has fewer than 2 values or both have no spread. */
    public static double welchP(double[] a, double[] b) {
        if (a.length < 2 || b.length < 2) return Double.NaN;
        if (summary(a).std() == 0 && summary(b).std() == 0) return Double.NaN;
        return new TTest().tTest(a, b);
    }
}
