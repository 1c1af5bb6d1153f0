package dev.peco4j.tensor;

/**
 * Factories: constants, ranges, identity, and random tensors from a {@link Generator}. Random
 * element i is drawn from counter (first + i), so fills are reproducible and order-free.
 */
final class Creation {
    private Creation() {}

    /** value everywhere, on a device: filled there by the device's copy kernel from a host scalar. */
    static Tensor full(Device device, DType dtype, double value, int... sizes) {
        if (device.isHost()) return full(dtype, value, sizes);
        Shape s = Shape.of(sizes);
        Tensor t = new Tensor(Storage.onDevice(device, dtype, s.numel()), s, s.contiguousStrides(), 0);
        device.backend().copyInto(t, full(dtype, value));
        return t;
    }

    static Tensor full(DType dtype, double value, int... sizes) {
        Shape s = Shape.of(sizes);
        Storage st = Storage.allocate(dtype, s.numel());
        if (value != 0) for (int k = 0; k < s.numel(); k++) st.set(k, value);
        return new Tensor(st, s, s.contiguousStrides(), 0);
    }

    /** start, start+step, … below end (PyTorch's arange). */
    static Tensor arange(DType dtype, double start, double end, double step) {
        if (step == 0 || Double.isNaN(step)) throw new IllegalArgumentException("arange: step must be nonzero, got " + step);
        long n = (long) Math.ceil((end - start) / step);
        if (n < 0) throw new IllegalArgumentException("arange: end " + end + " cannot be reached from " + start + " with step " + step);
        double[] v = new double[Math.toIntExact(n)];
        for (int k = 0; k < v.length; k++) v[k] = start + k * step;
        return Tensor.fromDoubles(dtype, Shape.of(v.length), v);
    }

    /** steps evenly spaced values from start to end inclusive. */
    static Tensor linspace(DType dtype, double start, double end, int steps) {
        if (steps < 0) throw new IllegalArgumentException("linspace: steps must be >= 0, got " + steps);
        double[] v = new double[steps];
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        // symmetric formula as in PyTorch: the second half counts back from end
        for (int k = 0; k < steps; k++) v[k] = k < steps / 2 ? start + k * step : end - (steps - 1 - k) * step;
        return Tensor.fromDoubles(dtype, Shape.of(steps), v);
    }

    static Tensor eye(DType dtype, int n, int m) {
        Tensor t = full(dtype, 0, n, m);
        for (int k = 0; k < Math.min(n, m); k++) t.storage.set(k * m + k, 1);
        return t;
    }

    /** Uniform in [low, high). */
    static Tensor uniform(Generator gen, DType dtype, double low, double high, int... sizes) {
        Shape s = Shape.of(sizes);
        double[] v = new double[s.numel()];
        long first = gen.take(v.length);
        for (int k = 0; k < v.length; k++) v[k] = low + (high - low) * Generator.uniform(gen.block(first + k));
        return Tensor.fromDoubles(dtype, s, v);
    }

    static Tensor normal(Generator gen, DType dtype, double mean, double std, int... sizes) {
        Shape s = Shape.of(sizes);
        double[] v = new double[s.numel()];
        long first = gen.take(v.length);
        for (int k = 0; k < v.length; k++) v[k] = mean + std * Generator.normal(gen.block(first + k));
        return Tensor.fromDoubles(dtype, s, v);
    }

    /**
     * Normal(mean, std) truncated to [a, b], by inverting the CDF as timm's trunc_normal_ does:
     * u uniform in [Φ(α), Φ(β)], x = mean + std·√2·erfinv(2u − 1), clamped to [a, b].
     */
    static Tensor truncatedNormal(Generator gen, DType dtype, double mean, double std, double a, double b, int... sizes) {
        if (!(a < b)) throw new IllegalArgumentException("truncated normal: bounds must satisfy a < b, got [" + a + ", " + b + "]");
        if (!(std > 0)) throw new IllegalArgumentException("truncated normal: std must be > 0, got " + std);
        Shape s = Shape.of(sizes);
        double lo = SpecialFunctions.normalCdf((a - mean) / std), hi = SpecialFunctions.normalCdf((b - mean) / std);
        double[] v = new double[s.numel()];
        long first = gen.take(v.length);
        for (int k = 0; k < v.length; k++) {
            double u = lo + (hi - lo) * Generator.uniform(gen.block(first + k));
            double x = mean + std * Math.sqrt(2) * SpecialFunctions.erfinv(2 * u - 1);
            v[k] = Math.min(Math.max(x, a), b);
        }
        return Tensor.fromDoubles(dtype, s, v);
    }

    /** Uniform integers in [low, high). */
    static Tensor randint(Generator gen, int low, int high, int... sizes) {
        if (high <= low) throw new IllegalArgumentException("randint: empty range [" + low + ", " + high + ")");
        Shape s = Shape.of(sizes);
        int[] v = new int[s.numel()];
        long first = gen.take(v.length);
        for (int k = 0; k < v.length; k++) v[k] = low + (int) Math.floor(Generator.uniform(gen.block(first + k)) * (high - low));
        return new Tensor(Storage.wrap(DType.INT32, v), s, s.contiguousStrides(), 0);
    }

    /** Bernoulli(p) mask, as bool. */
    static Tensor bernoulli(Generator gen, double p, int... sizes) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("bernoulli: p must be in [0, 1], got " + p);
        Shape s = Shape.of(sizes);
        int[] v = new int[s.numel()];
        long first = gen.take(v.length);
        for (int k = 0; k < v.length; k++) v[k] = Generator.uniform(gen.block(first + k)) < p ? 1 : 0;
        return new Tensor(Storage.wrap(DType.BOOL, v), s, s.contiguousStrides(), 0);
    }
}
