package dev.peco4j.tensor;

import java.util.Arrays;
import java.util.List;

/**
 * Movement primitives. Views (reshape, permute, expand, slice) share storage with their input;
 * flip, pad, copy and cat make new storage. Each backward is the inverse movement:
 * reshape ↔ reshape back, permute ↔ inverse permutation, expand ↔ sum, slice ↔ pad with zeros,
 * pad ↔ slice, flip ↔ flip, cat ↔ slices.
 */
public final class ViewOps {
    private ViewOps() {}

    /** A view when the strides allow it (PyTorch's rule), otherwise a contiguous copy. -1 infers one size. */
    static Tensor reshape(Tensor x, int[] sizes) {
        Shape to = inferShape(x.shape(), sizes, "reshape");
        if (to.equals(x.shape())) return x;
        int[] strides = viewStrides(x.shape(), x.strides(), to);
        Tensor base = strides == null ? x.contiguous() : x;
        if (strides == null) strides = to.contiguousStrides();
        Tensor out = new Tensor(base.storage, to, strides, base.offset());
        return Autograd.record(Op.RESHAPE, out, (g, n) -> new Tensor[] {g.reshape(x.shape().dims())}, base);
    }

    /** Like reshape, but fails instead of copying when the strides do not allow a view. */
    static Tensor view(Tensor x, int[] sizes) {
        Shape to = inferShape(x.shape(), sizes, "view");
        if (viewStrides(x.shape(), x.strides(), to) == null) {
            throw new IllegalArgumentException("view: a tensor of shape " + x.shape() + " with strides "
                    + Arrays.toString(x.strides()) + " cannot be viewed as " + to + "; use reshape() (it copies)");
        }
        return reshape(x, sizes);
    }

    static Tensor permute(Tensor x, int[] order) {
        int r = x.dim();
        if (order.length != r) {
            throw new IllegalArgumentException("permute: " + Arrays.toString(order) + " has " + order.length
                    + " dims, tensor " + x.shape() + " has " + r);
        }
        int[] perm = new int[r], inverse = new int[r], sizes = new int[r], strides = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            int d = x.shape().normalize(order[i], "permute");
            if (seen[d]) throw new IllegalArgumentException("permute: dim " + order[i] + " repeats in " + Arrays.toString(order));
            seen[d] = true;
            perm[i] = d;
            inverse[d] = i;
            sizes[i] = x.size(d);
            strides[i] = x.strides()[d];
        }
        Tensor out = new Tensor(x.storage, Shape.of(sizes), strides, x.offset());
        return Autograd.record(Op.PERMUTE, out, (g, n) -> new Tensor[] {g.permute(inverse)}, x);
    }

    /** Broadcast to sizes: new dims on the left, size-1 dims repeated with stride 0; -1 keeps a size. */
    static Tensor expand(Tensor x, int[] sizes) {
        int r = sizes.length, extra = r - x.dim();
        if (extra < 0) {
            throw new IllegalArgumentException("expand: cannot expand " + x.shape() + " to fewer dims " + Arrays.toString(sizes));
        }
        int[] to = new int[r], strides = new int[r];
        for (int i = 0; i < r; i++) {
            int have = i < extra ? 1 : x.size(i - extra);
            int want = sizes[i] == -1 && i >= extra ? have : sizes[i];
            if (want < 0 || (have != want && have != 1)) {
                throw new IllegalArgumentException("expand: cannot expand " + x.shape() + " to " + Arrays.toString(sizes)
                        + " (dim " + i + ": " + have + " vs " + sizes[i] + ")");
            }
            to[i] = want;
            strides[i] = i < extra || (have == 1 && want != 1) ? 0 : x.strides()[i - extra];
        }
        Shape target = Shape.of(to);
        if (target.equals(x.shape())) return x;
        Tensor out = new Tensor(x.storage, target, strides, x.offset());
        return Autograd.record(Op.EXPAND, out, (g, n) -> new Tensor[] {BinaryOps.sumTo(g, x.shape())}, x);
    }

    /** Elements start, start+step, … below end along dim; start and end as Python slices (negative from the end, clamped). */
    static Tensor slice(Tensor x, int dim, int start, int end, int step) {
        int d = x.shape().normalize(dim, "slice");
        if (step < 1) throw new IllegalArgumentException("slice: step must be >= 1, got " + step);
        int size = x.size(d);
        int s = clampIndex(start, size), e = clampIndex(end, size);
        int len = e <= s ? 0 : (e - s + step - 1) / step;
        int[] strides = x.strides().clone();
        int offset = x.offset() + (len == 0 ? 0 : s * strides[d]);
        strides[d] *= step;
        Tensor out = new Tensor(x.storage, x.shape().with(d, len), strides, offset);
        return Autograd.record(Op.SLICE, out, (g, n) -> {
            Tensor full = Creation.full(g.device(), g.dtype(), 0, x.shape().dims());
            Backends.on("slice", full, g).copyInto(slice(full, d, s, e, step), g);
            return new Tensor[] {full};
        }, x);
    }

    private static int clampIndex(int i, int size) {
        int n = i < 0 ? i + size : i;
        return Math.max(0, Math.min(size, n));
    }

    /** Reverses the order of elements along dims (a copy, as in PyTorch). */
    static Tensor flip(Tensor x, int[] dims) {
        int[] ds = x.shape().normalizeDims(dims, "flip");
        int[] strides = x.strides().clone();
        int offset = x.offset();
        for (int d : ds) {
            if (x.size(d) > 0) offset += (x.size(d) - 1) * strides[d];
            strides[d] = -strides[d];
        }
        // a negative-stride view that never escapes: copied at once
        Tensor out = Backends.on(x).copy(new Tensor(x.storage, x.shape(), strides, offset), x.dtype());
        return Autograd.record(Op.FLIP, out, (g, n) -> new Tensor[] {flip(g, ds)}, x);
    }

    /**
     * Constant padding, pairs from the last dim backwards as in PyTorch's F.pad:
     * {@code (left, right)} pads the last dim, {@code (left, right, top, bottom)} the last two.
     * Negative amounts crop.
     */
    static Tensor pad(Tensor x, int[] pads, double value) {
        if (pads.length % 2 != 0 || pads.length / 2 > x.dim()) {
            throw new IllegalArgumentException("pad: " + Arrays.toString(pads) + " must hold a (before, after) pair for each of at most "
                    + x.dim() + " dims of " + x.shape());
        }
        Tensor cropped = x;
        int[] sizes = x.shape().dims();
        for (int k = 0; k < pads.length / 2; k++) {
            int d = x.dim() - 1 - k, before = pads[2 * k], after = pads[2 * k + 1];
            int from = Math.max(0, -before), to = cropped.size(d) - Math.max(0, -after);
            if (from > 0 || to < cropped.size(d)) cropped = cropped.slice(d, from, to, 1);
            sizes[d] = to - from + Math.max(0, before) + Math.max(0, after);
            if (sizes[d] < 0) throw new IllegalArgumentException("pad: " + Arrays.toString(pads) + " crops dim " + d + " of " + x.shape() + " below zero");
        }
        Tensor src = cropped;
        Tensor out = Creation.full(src.device(), src.dtype(), value, sizes);
        Backends.on("pad", out, src).copyInto(inner(out, pads), src);
        return Autograd.record(Op.PAD, out, (g, n) -> new Tensor[] {inner(g, pads)}, src);
    }

    /** The region of a padded tensor that holds the (cropped) input. */
    private static Tensor inner(Tensor padded, int[] pads) {
        Tensor t = padded;
        for (int k = 0; k < pads.length / 2; k++) {
            int d = padded.dim() - 1 - k;
            t = t.slice(d, Math.max(0, pads[2 * k]), t.size(d) - Math.max(0, pads[2 * k + 1]), 1);
        }
        return t;
    }

    /** A new contiguous copy (contiguous() skips it when the tensor already is). */
    static Tensor copy(Tensor x) {
        Tensor out = Backends.on(x).copy(x, x.dtype());
        return Autograd.record(Op.COPY, out, (g, n) -> new Tensor[] {g}, x);
    }

    /** Concatenates along dim; all other sizes must agree. */
    static Tensor cat(List<Tensor> xs, int dim) {
        if (xs.isEmpty()) throw new IllegalArgumentException("cat: no tensors given");
        Tensor first = xs.get(0);
        int d = first.shape().normalize(dim, "cat");
        int total = 0;
        for (int k = 0; k < xs.size(); k++) {
            Tensor t = xs.get(k);
            if (t.dim() != first.dim() || t.dtype() != first.dtype()) {
                throw new IllegalArgumentException("cat: tensor " + k + " is " + t.dtype() + " " + t.shape()
                        + " but tensor 0 is " + first.dtype() + " " + first.shape());
            }
            for (int i = 0; i < t.dim(); i++) {
                if (i != d && t.size(i) != first.size(i)) {
                    throw new IllegalArgumentException("cat: tensor " + k + " has shape " + t.shape() + ", tensor 0 has "
                            + first.shape() + " (dim " + i + ": " + t.size(i) + " != " + first.size(i) + ")");
                }
            }
            total += t.size(d);
        }
        Tensor out = Creation.full(first.device(), first.dtype(), 0, first.shape().with(d, total).dims());
        int[] starts = new int[xs.size()];
        int at = 0;
        for (int k = 0; k < xs.size(); k++) {
            starts[k] = at;
            Backends.on("cat", out, xs.get(k)).copyInto(slice(out, d, at, at + xs.get(k).size(d), 1), xs.get(k));
            at += xs.get(k).size(d);
        }
        Tensor[] inputs = xs.toArray(new Tensor[0]);
        return Autograd.record(Op.CAT, out, (g, n) -> {
            Tensor[] gs = new Tensor[inputs.length];
            for (int k = 0; k < inputs.length; k++) gs[k] = g.slice(d, starts[k], starts[k] + inputs[k].size(d), 1);
            return gs;
        }, inputs);
    }

    /** Resolves a single -1 and checks the element count. */
    static Shape inferShape(Shape from, int[] sizes, String op) {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException(op + ": only one size may be -1 in " + Arrays.toString(sizes));
                infer = i;
            } else if (sizes[i] < 0) {
                throw new IllegalArgumentException(op + ": invalid size " + sizes[i] + " in " + Arrays.toString(sizes));
            } else {
                known *= sizes[i];
            }
        }
        int[] out = sizes.clone();
        if (infer >= 0) {
            if (known == 0 || from.numel() % known != 0) {
                throw new IllegalArgumentException(op + ": shape " + Arrays.toString(sizes) + " is invalid for "
                        + from + " (" + from.numel() + " elements)");
            }
            out[infer] = (int) (from.numel() / known);
        } else if (known != from.numel()) {
            throw new IllegalArgumentException(op + ": shape " + Arrays.toString(sizes) + " is invalid for "
                    + from + " (" + from.numel() + " elements)");
        }
        return Shape.of(out);
    }

    /** Strides that view (shape, strides) as {@code to} without copying, or null (PyTorch's computeStride). */
    static int[] viewStrides(Shape shape, int[] strides, Shape to) {
        if (shape.numel() == 0 || shape.rank() == 0) return to.contiguousStrides();
        int[] out = new int[to.rank()];
        int viewD = to.rank() - 1;
        int chunkBase = strides[strides.length - 1];
        long tensorNumel = 1, viewNumel = 1;
        for (int d = shape.rank() - 1; d >= 0; d--) {
            tensorNumel *= shape.dim(d);
            if (d == 0 || (shape.dim(d - 1) != 1 && strides[d - 1] != tensorNumel * chunkBase)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || to.dim(viewD) == 1)) {
                    out[viewD] = (int) (viewNumel * chunkBase);
                    viewNumel *= to.dim(viewD);
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) {
                    chunkBase = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? out : null;
    }
}
