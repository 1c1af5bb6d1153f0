package dev.peco4j.tensor;

/**
 * 2-D pooling, NCHW: average, max (the argmax is saved for backward), adaptive average; and nearest
 * upsampling, composed of a reshape and an expand.
 */
public final class PoolOps {
    private PoolOps() {}

    static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        check(x, "avg_pool2d");
        if (p.dilationH() != 1 || p.dilationW() != 1) throw new IllegalArgumentException("avg_pool2d: dilation is not supported");
        checkOut(x, p, "avg_pool2d");
        Tensor y = Backends.on(x).avgPool2d(x, p);
        return Autograd.record(Op.AVG_POOL2D, y, (g, n) -> new Tensor[] {
            Backends.on(g).avgPool2dBackward(g, x.shape(), p)}, x);
    }

    static Tensor maxPool2d(Tensor x, Pool2dParams p) {
        return maxPool2dWithIndices(x, p).values();
    }

    /** Max pooling, also returning each maximum's flat position h·W + w within its input plane. */
    static ReduceOps.ValuesIndices maxPool2dWithIndices(Tensor x, Pool2dParams p) {
        check(x, "max_pool2d");
        checkOut(x, p, "max_pool2d");
        Tensor[] r = Backends.on(x).maxPool2d(x, p);
        Tensor idx = r[1];
        Tensor y = Autograd.record(Op.MAX_POOL2D, r[0], (g, n) -> new Tensor[] {
            Backends.on("max_pool2d", g, idx).maxPool2dBackward(g, idx, x.shape())}, x);
        return new ReduceOps.ValuesIndices(y, idx);
    }

    static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        check(x, "adaptive_avg_pool2d");
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException("adaptive_avg_pool2d: output size must be >= 1, got " + outH + "x" + outW);
        }
        Tensor y = Backends.on(x).adaptiveAvgPool2d(x, outH, outW);
        return Autograd.record(Op.ADAPTIVE_AVG_POOL2D, y, (g, n) -> new Tensor[] {
            Backends.on(g).adaptiveAvgPool2dBackward(g, x.shape())}, x);
    }

    /** Nearest-neighbour upsampling by an integer factor: (N,C,H,W) → (N,C,H·s,W·s). */
    static Tensor upsampleNearest(Tensor x, int scale) {
        check(x, "upsample_nearest");
        if (scale < 1) throw new IllegalArgumentException("upsample_nearest: scale must be >= 1, got " + scale);
        int n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        return x.reshape(n, c, h, 1, w, 1).expand(n, c, h, scale, w, scale).reshape(n, c, h * scale, w * scale);
    }

    private static void check(Tensor x, String op) {
        if (x.dim() != 4) throw new IllegalArgumentException(op + ": input must be (N, C, H, W), got " + x.shape());
        UnaryOps.requireFloating(x, op);
    }

    private static void checkOut(Tensor x, Pool2dParams p, String op) {
        if (p.outH(x.size(2)) <= 0 || p.outW(x.size(3)) <= 0) {
            throw new IllegalArgumentException(op + ": input " + x.shape() + " is too small for " + p);
        }
    }
}
