package dev.peco4j.tensor;

/**
 * erf, erfinv and the standard normal pdf/cdf in double precision. The JDK has no erf; the exact
 * GELU and its float64 gradient check need one accurate to ~1e-15, and the truncated normal
 * initializer needs its inverse.
 */
public final class SpecialFunctions {
    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);

    private SpecialFunctions() {}

    /**
     * The error function. For |x| < 3 the series erf(x) = 2/√π·e^{-x²}·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)),
     * whose terms are all positive (no cancellation); beyond, 1 − erfc(x) with erfc from its
     * continued fraction, which converges fast there.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r;
        if (ax < 3.0) {
            double x2 = ax * ax;
            double term = ax;
            double sum = ax;
            for (int n = 1; n < 200; n++) {
                term *= 2.0 * x2 / (2 * n + 1);
                sum += term;
                if (term < 1e-17 * sum) break;
            }
            r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
        } else {
            r = 1.0 - erfcLarge(ax);
        }
        return x < 0 ? -r : r;
    }

    /** erfc(x) for x ≥ 3: e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), by Lentz's method. */
    private static double erfcLarge(double x) {
        if (x > 27) return 0.0;
        double tiny = 1e-300;
        double f = x;
        double c = x;
        double d = 0;
        for (int n = 1; n < 300; n++) {
            double a = n * 0.5;
            d = x + a * d;
            d = d == 0 ? tiny : d;
            c = x + a / c;
            c = c == 0 ? tiny : c;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1.0) < 1e-16) break;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    /**
     * Inverse error function on (−1, 1): Winitzki's closed-form start, then Newton steps on erf,
     * which converge to double precision in a few iterations.
     */
    public static double erfinv(double y) {
        if (y <= -1) return y == -1 ? Double.NEGATIVE_INFINITY : Double.NaN;
        if (y >= 1) return y == 1 ? Double.POSITIVE_INFINITY : Double.NaN;
        if (y == 0) return 0;
        double a = 0.147;
        double ln = Math.log(1 - y * y);
        double t = 2 / (Math.PI * a) + ln / 2;
        double x = Math.copySign(Math.sqrt(Math.sqrt(t * t - ln / a) - t), y);
        for (int k = 0; k < 6; k++) {
            double err = erf(x) - y;
            double step = err / (TWO_OVER_SQRT_PI * Math.exp(-x * x));
            x -= step;
            if (Math.abs(step) < 1e-15 * Math.max(1, Math.abs(x))) break;
        }
        return x;
    }

    /** Φ(x), the standard normal cumulative distribution. */
    public static double normalCdf(double x) {
        return 0.5 * (1 + erf(x * INV_SQRT2));
    }

    /** φ(x), the standard normal density. */
    public static double normalPdf(double x) {
        return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }
}
