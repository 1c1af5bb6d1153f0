package dev.peco4j.tensor;

import java.util.Arrays;

/**
 * An immutable list of dimension sizes. Rank 0 is a scalar. Negative dims count from the end,
 * as in PyTorch, wherever a method takes a dim.
 *
 * <pre>{@code
 * Shape s = Shape.of(2, 3, 4);   // numel 24
 * s.dim(-1);                      // 4
 * Shape.broadcast(Shape.of(3, 1), Shape.of(4), "add");  // [3, 4]
 * }</pre>
 */
public final class Shape {
    private static final Shape SCALAR = new Shape(new int[0]);

    private final int[] dims;
    private final int numel;

    private Shape(int[] dims) {
        this.dims = dims;
        long n = 1;
        for (int d : dims) {
            if (d < 0) throw new IllegalArgumentException("shape " + Arrays.toString(dims) + ": negative size " + d);
            n *= d;
            if (n > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has more than 2^31 elements");
            }
        }
        this.numel = (int) n;
    }

    public static Shape of(int... dims) {
        return dims.length == 0 ? SCALAR : new Shape(dims.clone());
    }

    public static Shape scalar() {
        return SCALAR;
    }

    public int rank() {
        return dims.length;
    }

    public int numel() {
        return numel;
    }

    /** Size of dim {@code d}; negative d counts from the end. */
    public int dim(int d) {
        return dims[normalize(d, "dim")];
    }

    public int[] dims() {
        return dims.clone();
    }

    /** Turns a possibly negative dim into 0..rank-1, or fails naming {@code op}. */
    public int normalize(int d, String op) {
        int r = dims.length;
        int n = d < 0 ? d + r : d;
        if (n < 0 || n >= r) {
            throw new IllegalArgumentException(op + ": dim " + d + " is out of range for shape " + this
                    + " (rank " + r + ")");
        }
        return n;
    }

    /** Normalizes a list of dims (all dims when empty), sorted and without repeats. */
    public int[] normalizeDims(int[] ds, String op) {
        if (ds.length == 0) {
            int[] all = new int[dims.length];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        boolean[] seen = new boolean[dims.length];
        for (int d : ds) {
            int n = normalize(d, op);
            if (seen[n]) throw new IllegalArgumentException(op + ": dim " + d + " repeats in " + Arrays.toString(ds));
            seen[n] = true;
        }
        int[] out = new int[ds.length];
        int k = 0;
        for (int i = 0; i < seen.length; i++) if (seen[i]) out[k++] = i;
        return out;
    }

    /** Row-major strides of a contiguous tensor of this shape. */
    public int[] contiguousStrides() {
        int[] s = new int[dims.length];
        int acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(dims[i], 1);
        }
        return s;
    }

    /** This shape with dim d replaced by size. */
    public Shape with(int d, int size) {
        int[] n = dims.clone();
        n[normalize(d, "shape")] = size;
        return new Shape(n);
    }

    /** NumPy broadcasting of two shapes; the error names the op and both shapes. */
    public static Shape broadcast(Shape a, Shape b, String op) {
        int r = Math.max(a.rank(), b.rank());
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.rank() ? 1 : a.dims[i - (r - a.rank())];
            int db = i < r - b.rank() ? 1 : b.dims[i - (r - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + a + " and " + b
                        + " cannot be broadcast (dim " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
