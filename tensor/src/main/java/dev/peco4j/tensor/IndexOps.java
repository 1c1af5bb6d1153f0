package dev.peco4j.tensor;

import java.util.Arrays;

/**
 * Indexing primitives — gather, index_select and their adjoints scatter_add and index_add — and what
 * is composed from them: embedding lookup and selecting rows by a boolean mask (masked image
 * modeling predicts only the masked positions). Indices are int32 and checked before any kernel runs.
 */
public final class IndexOps {
    private IndexOps() {}

    /** out[…i…] = x[…index[…i…]…] along dim; backward scatter-adds into zeros. */
    static Tensor gather(Tensor x, int dim, Tensor index) {
        int d = x.shape().normalize(dim, "gather");
        checkIndexTensor("gather", index, x.dim());
        for (int i = 0; i < x.dim(); i++) {
            if (i != d && index.size(i) > x.size(i)) {
                throw new IllegalArgumentException("gather: index " + index.shape() + " is larger than input "
                        + x.shape() + " at dim " + i + " (" + index.size(i) + " > " + x.size(i) + ")");
            }
        }
        checkRange("gather", index, x.size(d), d);
        Tensor out = Backends.on("gather", x, index).gather(x, d, index);
        return Autograd.record(Op.GATHER, out, (g, n) -> new Tensor[] {
            Backends.on("gather", g, index).scatterAdd(x.zerosLike(), d, index, g)}, x);
    }

    /** A copy of self with src[…i…] added at self[…index[…i…]…] along dim. */
    static Tensor scatterAdd(Tensor self, int dim, Tensor index, Tensor src) {
        int d = self.shape().normalize(dim, "scatter_add");
        checkIndexTensor("scatter_add", index, self.dim());
        if (src.dim() != self.dim() || src.dtype() != self.dtype()) {
            throw new IllegalArgumentException("scatter_add: src " + src.dtype() + " " + src.shape()
                    + " must match self " + self.dtype() + " " + self.shape() + " in rank and dtype");
        }
        for (int i = 0; i < self.dim(); i++) {
            if (index.size(i) > src.size(i) || (i != d && index.size(i) > self.size(i))) {
                throw new IllegalArgumentException("scatter_add: index " + index.shape() + " does not fit src "
                        + src.shape() + " and self " + self.shape() + " at dim " + i);
            }
        }
        checkRange("scatter_add", index, self.size(d), d);
        Tensor out = Backends.on("scatter_add", self, index, src).scatterAdd(self, d, index, src);
        return Autograd.record(Op.SCATTER_ADD, out, (g, n) -> {
            Tensor gs = null;
            if (n[1]) {
                Tensor picked = Backends.on("scatter_add", g, index).gather(g, d, index);
                gs = picked.shape().equals(src.shape()) ? picked
                        : ViewOps.pad(picked, padTo(picked.shape(), src.shape()), 0);
            }
            return new Tensor[] {g, gs};
        }, self, src);
    }

    /** The rows (along dim) named by a 1-D index; backward index-adds into zeros. */
    static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        int d = x.shape().normalize(dim, "index_select");
        checkIndexTensor("index_select", index, 1);
        checkRange("index_select", index, x.size(d), d);
        Tensor out = Backends.on("index_select", x, index).indexSelect(x, d, index);
        return Autograd.record(Op.INDEX_SELECT, out, (g, n) -> new Tensor[] {
            Backends.on("index_select", g, index).indexAdd(x.zerosLike(), d, index, g)}, x);
    }

    /** A copy of self with src's slice j added at self's slice index[j] along dim. */
    static Tensor indexAdd(Tensor self, int dim, Tensor index, Tensor src) {
        int d = self.shape().normalize(dim, "index_add");
        checkIndexTensor("index_add", index, 1);
        Shape want = self.shape().with(d, index.size(0));
        if (!src.shape().equals(want) || src.dtype() != self.dtype()) {
            throw new IllegalArgumentException("index_add: src is " + src.dtype() + " " + src.shape() + ", expected "
                    + self.dtype() + " " + want + " for self " + self.shape() + " and " + index.size(0) + " indices");
        }
        checkRange("index_add", index, self.size(d), d);
        Tensor out = Backends.on("index_add", self, index, src).indexAdd(self, d, index, src);
        return Autograd.record(Op.INDEX_ADD, out, (g, n) -> new Tensor[] {
            g, n[1] ? Backends.on("index_add", g, index).indexSelect(g, d, index) : null}, self, src);
    }

    /** weight (V, D) looked up at indices of any shape → (…, D). */
    static Tensor embedding(Tensor weight, Tensor indices) {
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding: weight must be (V, D), got " + weight.shape());
        int[] outShape = Arrays.copyOf(indices.shape().dims(), indices.dim() + 1);
        outShape[indices.dim()] = weight.size(1);
        return indexSelect(weight, 0, indices.reshape(-1)).reshape(outShape);
    }

    /**
     * The rows of x where mask is true: mask has x's leading shape, the result is (count, rest…),
     * in row-major order of the mask (PyTorch's {@code x[mask]}).
     */
    static Tensor maskedRows(Tensor x, Tensor mask) {
        if (mask.dtype() != DType.BOOL) throw new IllegalArgumentException("masked rows: mask must be bool, got " + mask.dtype());
        int r = mask.dim();
        if (r > x.dim() || !Shape.of(Arrays.copyOf(x.shape().dims(), r)).equals(mask.shape())) {
            throw new IllegalArgumentException("masked rows: mask " + mask.shape() + " must equal the leading dims of "
                    + x.shape());
        }
        int[] rest = Arrays.copyOfRange(x.shape().dims(), r, x.dim());
        int[] flat = new int[rest.length + 1];
        flat[0] = -1;
        System.arraycopy(rest, 0, flat, 1, rest.length);
        return indexSelect(x.reshape(flat), 0, flatNonzero(mask));
    }

    /** Flat (row-major) positions of the true elements of a mask, as an int32 vector on its device (reading a device mask is a copy to the host). */
    static Tensor flatNonzero(Tensor mask) {
        int[] m = mask.toIntArray();
        int count = 0;
        for (int v : m) if (v != 0) count++;
        int[] at = new int[count];
        int k = 0;
        for (int i = 0; i < m.length; i++) if (m[i] != 0) at[k++] = i;
        return Tensor.ofInts(at, count).to(mask.device());
    }

    /** (count, rank) int32 coordinates of the nonzero elements, as PyTorch's nonzero(). */
    static Tensor nonzero(Tensor x) {
        int[] flat = flatNonzero(x.ne(0.0)).toIntArray();
        int r = x.dim();
        int[] coords = new int[flat.length * r];
        int[] strides = x.shape().contiguousStrides();
        for (int i = 0; i < flat.length; i++) {
            for (int d = 0; d < r; d++) coords[i * r + d] = (flat[i] / strides[d]) % x.size(d);
        }
        return Tensor.ofInts(coords, flat.length, r).to(x.device());
    }

    private static void checkIndexTensor(String op, Tensor index, int rank) {
        if (index.dtype() != DType.INT32) throw new IllegalArgumentException(op + ": index must be int32, got " + index.dtype());
        if (index.dim() != rank) {
            throw new IllegalArgumentException(op + ": index must have " + rank + " dims, got " + index.shape());
        }
    }

    private static void checkRange(String op, Tensor index, int size, int dim) {
        for (int v : index.toIntArray()) {
            if (v < 0 || v >= size) {
                throw new IndexOutOfBoundsException(op + ": index " + v + " is out of bounds for dim " + dim
                        + " with size " + size);
            }
        }
    }

    /** Right-padding amounts that grow shape {@code from} to {@code to}, in F.pad order. */
    private static int[] padTo(Shape from, Shape to) {
        int[] pads = new int[2 * from.rank()];
        for (int k = 0; k < from.rank(); k++) pads[2 * k + 1] = to.dim(from.rank() - 1 - k) - from.dim(from.rank() - 1 - k);
        return pads;
    }
}
