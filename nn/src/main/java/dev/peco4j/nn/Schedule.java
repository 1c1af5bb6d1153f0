package dev.peco4j.nn;

/**
 * A value per iteration (learning rate, weight decay). Schedules are per iteration, as BEiT's are.
 *
 * <pre>{@code
 * Schedule lr = Schedule.cosine(1.5e-3, 1e-5, totalIters, warmupIters);
 * optimizer.applySchedule(lr.at(it));
 * }</pre>
 */
@FunctionalInterface
public interface Schedule {
    double at(int iteration);

    static Schedule constant(double value) {
        return it -> value;
    }

    /** base·gamma^⌊it / stepSize⌋ (PyTorch's StepLR). */
    static Schedule step(double base, int stepSize, double gamma) {
        if (stepSize < 1) throw new IllegalArgumentException("step schedule: step size must be >= 1, got " + stepSize);
        return it -> base * Math.pow(gamma, Math.floorDiv(it, stepSize));
    }

    /** BEiT's cosine_scheduler with a warm-up from 0; see {@link #cosine(double, double, int, int, double)}. */
    static Schedule cosine(double base, double finalValue, int totalIters, int warmupIters) {
        return cosine(base, finalValue, totalIters, warmupIters, 0);
    }

    /**
     * BEiT's cosine_scheduler, exactly: warm-up values np.linspace(warmupStart, base, W) (both ends
     * included), then for i = 0..M−1 (M = total − W): final + ½(base − final)(1 + cos(π·i/M)).
     * Iterations past the end keep the last value.
     */
    static Schedule cosine(double base, double finalValue, int totalIters, int warmupIters, double warmupStart) {
        if (totalIters < 1 || warmupIters < 0 || warmupIters > totalIters) {
            throw new IllegalArgumentException("cosine schedule: need 0 <= warmup (" + warmupIters + ") <= total (" + totalIters + "), total >= 1");
        }
        int m = totalIters - warmupIters;
        return it -> {
            int i = Math.max(0, Math.min(it, totalIters - 1));
            if (i < warmupIters) {
                if (warmupIters == 1) return warmupStart; // np.linspace(start, base, 1) is [start]
                if (i == warmupIters - 1) return base; // numpy's linspace sets the endpoint exactly
                double step = (base - warmupStart) / (warmupIters - 1);
                return warmupStart + i * step;
            }
            return finalValue + 0.5 * (base - finalValue) * (1 + Math.cos(Math.PI * (i - warmupIters) / m));
        };
    }
}
