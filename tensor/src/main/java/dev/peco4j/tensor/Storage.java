package dev.peco4j.tensor;

/**
 * The flat, on-heap memory behind one or more tensor views. Exactly one of the arrays is set,
 * by dtype: {@code f} for float32, {@code d} for float64, {@code i} for int32 and bool (0/1).
 * {@code version} counts in-place writes, so autodiff can refuse a gradient computed from
 * values that changed after they were saved.
 */
final class Storage {
    final DType dtype;
    final float[] f;
    final double[] d;
    final int[] i;
    int version;

    private Storage(DType dtype, float[] f, double[] d, int[] i) {
        this.dtype = dtype;
        this.f = f;
        this.d = d;
        this.i = i;
    }

    static Storage allocate(DType dtype, int n) {
        return switch (dtype) {
            case FLOAT32 -> new Storage(dtype, new float[n], null, null);
            case FLOAT64 -> new Storage(dtype, null, new double[n], null);
            case INT32, BOOL -> new Storage(dtype, null, null, new int[n]);
        };
    }

    static Storage wrap(float[] a) {
        return new Storage(DType.FLOAT32, a, null, null);
    }

    static Storage wrap(double[] a) {
        return new Storage(DType.FLOAT64, null, a, null);
    }

    static Storage wrap(DType dtype, int[] a) {
        if (dtype != DType.INT32 && dtype != DType.BOOL) throw new IllegalArgumentException("int storage for " + dtype);
        return new Storage(dtype, null, null, a);
    }

    int length() {
        return switch (dtype) {
            case FLOAT32 -> f.length;
            case FLOAT64 -> d.length;
            case INT32, BOOL -> i.length;
        };
    }

    double get(int k) {
        return switch (dtype) {
            case FLOAT32 -> f[k];
            case FLOAT64 -> d[k];
            case INT32, BOOL -> i[k];
        };
    }

    /** Stores v rounded to this dtype; bools store v != 0. */
    void set(int k, double v) {
        switch (dtype) {
            case FLOAT32 -> f[k] = (float) v;
            case FLOAT64 -> d[k] = v;
            case INT32 -> i[k] = (int) v;
            case BOOL -> i[k] = v != 0 ? 1 : 0;
        }
    }
}
