package dev.peco4j.tensor;

import java.util.function.DoubleBinaryOperator;

/**
 * Elementwise binary primitives with NumPy broadcasting, comparisons to masks, {@code where}, and
 * dtype casts. Each backward computes the gradient at the broadcast shape and sums it back to the
 * input's own shape ({@link #sumTo}).
 */
public final class BinaryOps {
    private BinaryOps() {}

    /** The scalar function of each binary kernel. Comparisons give 1 or 0. */
    public enum Fn implements DoubleBinaryOperator {
        ADD((a, b) -> a + b), SUB((a, b) -> a - b), MUL((a, b) -> a * b), DIV((a, b) -> a / b),
        POW(Math::pow), MINIMUM(BinaryOps::nanMin), MAXIMUM(BinaryOps::nanMax),
        EQ((a, b) -> a == b ? 1 : 0), NE((a, b) -> a != b ? 1 : 0), LT((a, b) -> a < b ? 1 : 0),
        LE((a, b) -> a <= b ? 1 : 0), GT((a, b) -> a > b ? 1 : 0), GE((a, b) -> a >= b ? 1 : 0);

        private final DoubleBinaryOperator f;

        Fn(DoubleBinaryOperator f) {
            this.f = f;
        }

        @Override
        public double applyAsDouble(double a, double b) {
            return f.applyAsDouble(a, b);
        }
    }

    // NaN propagates through minimum/maximum, as in PyTorch.
    private static double nanMin(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.min(a, b);
    }

    private static double nanMax(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.max(a, b);
    }

    static Tensor add(Tensor a, Tensor b) {
        Tensor[] p = promote(a, b, Op.ADD);
        Tensor x = p[0], y = p[1];
        Tensor out = zip(Fn.ADD, x, y);
        return Autograd.record(Op.ADD, out, (g, n) -> new Tensor[] {sumTo(g, x.shape()), sumTo(g, y.shape())}, x, y);
    }

    static Tensor sub(Tensor a, Tensor b) {
        Tensor[] p = promote(a, b, Op.SUB);
        Tensor x = p[0], y = p[1];
        Tensor out = zip(Fn.SUB, x, y);
        return Autograd.record(Op.SUB, out, (g, n) -> new Tensor[] {sumTo(g, x.shape()), sumTo(g.neg(), y.shape())}, x, y);
    }

    static Tensor mul(Tensor a, Tensor b) {
        Tensor[] p = promote(a, b, Op.MUL);
        Tensor x = p[0], y = p[1];
        Tensor out = zip(Fn.MUL, x, y);
        return Autograd.record(Op.MUL, out, (g, n) -> new Tensor[] {
            n[0] ? sumTo(g.mul(y), x.shape()) : null,
            n[1] ? sumTo(g.mul(x), y.shape()) : null}, x, y);
    }

    /** True division; integer inputs give float32, as in PyTorch. */
    static Tensor div(Tensor a, Tensor b) {
        Tensor[] p = promote(a, b, Op.DIV);
        Tensor x = p[0].dtype().isFloating() ? p[0] : p[0].to(DType.FLOAT32);
        Tensor y = p[1].dtype().isFloating() ? p[1] : p[1].to(DType.FLOAT32);
        Tensor out = zip(Fn.DIV, x, y);
        // d(x/y)/dx = 1/y; d(x/y)/dy = -x/y² = -out/y
        return Autograd.record(Op.DIV, out, (g, n) -> new Tensor[] {
            n[0] ? sumTo(g.div(y), x.shape()) : null,
            n[1] ? sumTo(g.mul(out).div(y).neg(), y.shape()) : null}, x, y);
    }

    /** x^y elementwise. d/dx = y·x^(y−1); d/dy = x^y·ln x (taken as 0 where x = 0, as PyTorch does). */
    static Tensor pow(Tensor a, Tensor b) {
        Tensor[] p = promote(a, b, Op.POW);
        Tensor x = p[0], y = p[1];
        Tensor out = zip(Fn.POW, x, y);
        return Autograd.record(Op.POW, out, (g, n) -> {
            Tensor gx = null, gy = null;
            if (n[0]) gx = sumTo(g.mul(y).mul(x.pow(y.sub(1.0))), x.shape());
            if (n[1]) {
                Tensor zero = x.eq(0.0);
                Tensor logx = where(zero, x.onesLike(), x).log();
                gy = sumTo(where(zero, out.zerosLike(), g.mul(out).mul(logx)), y.shape());
            }
            return new Tensor[] {gx, gy};
        }, x, y);
    }

    static Tensor minimum(Tensor a, Tensor b) {
        return minMax(Op.MINIMUM, Fn.MINIMUM, Fn.LT, a, b);
    }

    static Tensor maximum(Tensor a, Tensor b) {
        return minMax(Op.MAXIMUM, Fn.MAXIMUM, Fn.GT, a, b);
    }

    /** The winner takes the gradient; on a tie each side gets half, as in PyTorch. */
    private static Tensor minMax(Op op, Fn fn, Fn wins, Tensor a, Tensor b) {
        Tensor[] p = promote(a, b, op);
        Tensor x = p[0], y = p[1];
        Tensor out = zip(fn, x, y);
        return Autograd.record(op, out, (g, n) -> {
            Tensor half = g.mul(0.5);
            Tensor tie = compare(Fn.EQ, x, y);
            Tensor xWins = compare(wins, x, y), yWins = compare(wins, y, x);
            Tensor zero = g.zerosLike();
            Tensor gx = where(xWins, g, where(tie, half, zero));
            Tensor gy = where(yWins, g, where(tie, half, zero));
            return new Tensor[] {sumTo(gx, x.shape()), sumTo(gy, y.shape())};
        }, x, y);
    }

    /** A bool mask of {@code fn(a, b)}; no gradient flows through comparisons. */
    static Tensor compare(Fn fn, Tensor a, Tensor b) {
        Shape.broadcast(a.shape(), b.shape(), fn.name().toLowerCase());
        return Backends.on(fn.name(), a, b).zip(fn, a, b, DType.BOOL);
    }

    /** cond ? a : b, broadcasting all three; the gradient goes to the chosen side. */
    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        if (cond.dtype() != DType.BOOL) {
            throw new IllegalArgumentException("where: condition must be a bool mask, got " + cond.dtype() + " " + cond.shape());
        }
        Tensor[] p = promote(a, b, Op.WHERE);
        Tensor x = p[0], y = p[1];
        Shape out = Shape.broadcast(Shape.broadcast(cond.shape(), x.shape(), "where"), y.shape(), "where");
        Tensor r = Backends.on("where", cond, x, y).where(cond.expand(out.dims()), x.expand(out.dims()), y.expand(out.dims()));
        return Autograd.record(Op.WHERE, r, (g, n) -> {
            Tensor zero = g.zerosLike();
            return new Tensor[] {
                n[0] ? sumTo(where(cond, g, zero), x.shape()) : null,
                n[1] ? sumTo(where(cond, zero, g), y.shape()) : null};
        }, x, y);
    }

    /** A copy converted to dtype; the gradient is converted back. */
    static Tensor cast(Tensor x, DType dtype) {
        if (x.dtype() == dtype) return x;
        Tensor out = Backends.on(x).copy(x, dtype);
        if (!dtype.isFloating()) return out;
        return Autograd.record(Op.CAST, out, (g, n) -> new Tensor[] {g.to(x.dtype())}, x);
    }

    /** Sums a broadcast gradient back to {@code shape}: over leading extra dims and dims that were 1. */
    static Tensor sumTo(Tensor g, Shape shape) {
        if (g.shape().equals(shape)) return g;
        int extra = g.dim() - shape.rank();
        int count = 0;
        int[] dims = new int[g.dim()];
        for (int d = 0; d < g.dim(); d++) {
            if (d < extra || (shape.dim(d - extra) == 1 && g.size(d) != 1)) dims[count++] = d;
        }
        Tensor s = count == 0 ? g : g.sum(java.util.Arrays.copyOf(dims, count), true);
        return s.reshape(shape.dims());
    }

    private static Tensor zip(Fn fn, Tensor a, Tensor b) {
        Shape.broadcast(a.shape(), b.shape(), fn.name().toLowerCase());
        return Backends.on(fn.name(), a, b).zip(fn, a, b, a.dtype());
    }

    /** Both inputs converted to their common dtype (through CAST, so gradients flow). */
    private static Tensor[] promote(Tensor a, Tensor b, Op op) {
        Shape.broadcast(a.shape(), b.shape(), op.opName());
        DType t = DType.promote(a.dtype(), b.dtype());
        if (t == DType.BOOL) t = DType.INT32;
        return new Tensor[] {cast(a, t), cast(b, t)};
    }
}
