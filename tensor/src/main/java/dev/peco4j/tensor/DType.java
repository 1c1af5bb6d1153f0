package dev.peco4j.tensor;

/**
 * Element types. Floating tensors take part in autodiff; INT32 holds indices and labels; BOOL holds
 * masks (the result of comparisons). FLOAT64 exists for gradient checks.
 */
public enum DType {
    BOOL(1), INT32(4), FLOAT32(4), FLOAT64(8);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    public boolean isFloating() {
        return this == FLOAT32 || this == FLOAT64;
    }

    /** The result type of a binary op, as PyTorch promotes: bool < int32 < float32 < float64. */
    public static DType promote(DType a, DType b) {
        return a.ordinal() >= b.ordinal() ? a : b;
    }

    @Override
    public String toString() {
        return name().toLowerCase();
    }
}
