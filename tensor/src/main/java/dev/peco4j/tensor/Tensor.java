package dev.peco4j.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A tensor: a view (shape, strides, offset) of a {@link Storage}, plus what autodiff needs (the
 * requires-grad flag, the accumulated gradient, the graph node that made it).
 *
 * <p>This file is the user-facing API and is long for that reason only: every op method is a
 * one-line delegation to the op family that holds its forward and backward
 * ({@link UnaryOps}, {@link BinaryOps}, {@link ReduceOps}, {@link ViewOps}, {@link MatmulOps},
 * {@link IndexOps}); layer-level functions live in {@link Functional}.
 *
 * <pre>{@code
 * Generator gen = new Generator(0);
 * Tensor x = Tensor.randn(gen, 4, 3);                    // [4, 3] float32
 * Tensor w = Tensor.randn(gen, 3, 2).requiresGrad(true);
 * Tensor loss = x.matmul(w).relu().sum();
 * loss.backward();
 * w.grad().shape();                                       // [3, 2]
 * }</pre>
 *
 * Views share storage; {@link #contiguous()} copies when needed. Tensors are immutable except
 * through the explicit in-place methods ({@link #copyFrom}, {@link #addInPlace}, ...), which
 * refuse to run on tensors that require a gradient while the graph is being recorded.
 */
public final class Tensor {
    // not final only for setData (PyTorch's `param.data = ...`), allowed on leaves alone
    Storage storage;
    private Shape shape;
    private int[] strides;
    private int offset;

    private boolean requiresGrad;
    private boolean retainGrad;
    private Tensor grad;
    private Node node;

    Tensor(Storage storage, Shape shape, int[] strides, int offset) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ------------------------------------------------------------------ creation

    /** A float32 tensor of the given shape holding {@code data} in row-major order. */
    public static Tensor of(float[] data, int... shape) {
        Shape s = checkLength(data.length, shape);
        return new Tensor(Storage.wrap(data.clone()), s, s.contiguousStrides(), 0);
    }

    /** A float64 tensor of the given shape holding {@code data} in row-major order. */
    public static Tensor of(double[] data, int... shape) {
        Shape s = checkLength(data.length, shape);
        return new Tensor(Storage.wrap(data.clone()), s, s.contiguousStrides(), 0);
    }

    /** An int32 tensor (indices, labels). */
    public static Tensor ofInts(int[] data, int... shape) {
        Shape s = checkLength(data.length, shape);
        return new Tensor(Storage.wrap(DType.INT32, data.clone()), s, s.contiguousStrides(), 0);
    }

    /** A bool mask. */
    public static Tensor ofBools(boolean[] data, int... shape) {
        Shape s = checkLength(data.length, shape);
        int[] v = new int[data.length];
        for (int k = 0; k < v.length; k++) v[k] = data[k] ? 1 : 0;
        return new Tensor(Storage.wrap(DType.BOOL, v), s, s.contiguousStrides(), 0);
    }

    /** A rank-0 tensor. */
    public static Tensor scalar(double value, DType dtype) {
        return Creation.full(dtype, value);
    }

    public static Tensor zeros(DType dtype, int... shape) {
        return Creation.full(dtype, 0, shape);
    }

    public static Tensor zeros(int... shape) {
        return zeros(DType.FLOAT32, shape);
    }

    public static Tensor ones(DType dtype, int... shape) {
        return Creation.full(dtype, 1, shape);
    }

    public static Tensor ones(int... shape) {
        return ones(DType.FLOAT32, shape);
    }

    public static Tensor full(DType dtype, double value, int... shape) {
        return Creation.full(dtype, value, shape);
    }

    /** 0, 1, …, end−1 as int32. */
    public static Tensor arange(int end) {
        return Creation.arange(DType.INT32, 0, end, 1);
    }

    public static Tensor arange(DType dtype, double start, double end, double step) {
        return Creation.arange(dtype, start, end, step);
    }

    public static Tensor linspace(DType dtype, double start, double end, int steps) {
        return Creation.linspace(dtype, start, end, steps);
    }

    public static Tensor eye(DType dtype, int n) {
        return Creation.eye(dtype, n, n);
    }

    public static Tensor eye(DType dtype, int n, int m) {
        return Creation.eye(dtype, n, m);
    }

    /** Uniform in [0, 1), float32. */
    public static Tensor rand(Generator gen, int... shape) {
        return Creation.uniform(gen, DType.FLOAT32, 0, 1, shape);
    }

    public static Tensor uniform(Generator gen, DType dtype, double low, double high, int... shape) {
        return Creation.uniform(gen, dtype, low, high, shape);
    }

    /** Standard normal, float32. */
    public static Tensor randn(Generator gen, int... shape) {
        return Creation.normal(gen, DType.FLOAT32, 0, 1, shape);
    }

    public static Tensor normal(Generator gen, DType dtype, double mean, double std, int... shape) {
        return Creation.normal(gen, dtype, mean, std, shape);
    }

    /** Normal(mean, std) truncated to [a, b] (timm's trunc_normal_). */
    public static Tensor truncatedNormal(Generator gen, DType dtype, double mean, double std, double a, double b,
                                         int... shape) {
        return Creation.truncatedNormal(gen, dtype, mean, std, a, b, shape);
    }

    /** Uniform int32 in [low, high). */
    public static Tensor randint(Generator gen, int low, int high, int... shape) {
        return Creation.randint(gen, low, high, shape);
    }

    /** A bool mask, each element true with probability p. */
    public static Tensor bernoulli(Generator gen, double p, int... shape) {
        return Creation.bernoulli(gen, p, shape);
    }

    /** Zeros of this tensor's dtype and shape, on its device. */
    public Tensor zerosLike() {
        return Creation.full(device(), dtype(), 0, shape.dims());
    }

    public Tensor onesLike() {
        return Creation.full(device(), dtype(), 1, shape.dims());
    }

    public Tensor fullLike(double value) {
        return Creation.full(device(), dtype(), value, shape.dims());
    }

    private static Shape checkLength(int length, int[] shape) {
        Shape s = Shape.of(shape);
        if (s.numel() != length) {
            throw new IllegalArgumentException("tensor: " + length + " values do not fill shape " + s + " (" + s.numel() + " elements)");
        }
        return s;
    }

    /** A contiguous tensor holding values (row-major) rounded to dtype. */
    static Tensor fromDoubles(DType dtype, Shape shape, double[] values) {
        Storage st = switch (dtype) {
            case FLOAT64 -> Storage.wrap(values);
            default -> {
                Storage s = Storage.allocate(dtype, values.length);
                for (int k = 0; k < values.length; k++) s.set(k, values[k]);
                yield s;
            }
        };
        return new Tensor(st, shape, shape.contiguousStrides(), 0);
    }

    // ------------------------------------------------------------------ metadata

    public DType dtype() {
        return storage.dtype;
    }

    /** Where the elements live and where ops on this tensor run. */
    public Device device() {
        return storage.device();
    }

    public Shape shape() {
        return shape;
    }

    /** The number of dims (rank). */
    public int dim() {
        return shape.rank();
    }

    /** The size of dim d; negative d counts from the end. */
    public int size(int d) {
        return shape.dim(d);
    }

    public int numel() {
        return shape.numel();
    }

    public int[] strides() {
        return strides.clone();
    }

    public int offset() {
        return offset;
    }

    /** True when elements are laid out row-major without gaps (size-1 dims may have any stride). */
    public boolean isContiguous() {
        int expected = 1;
        for (int d = dim() - 1; d >= 0; d--) {
            if (shape.dim(d) != 1 && strides[d] != expected) return false;
            expected *= shape.dim(d);
        }
        return true;
    }

    // ------------------------------------------------------------------ autodiff

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf as requiring a gradient; returns this. Only floating tensors can. */
    public Tensor requiresGrad(boolean value) {
        if (node != null) {
            throw new IllegalStateException("requiresGrad: only leaf tensors can change it; this one was made by '"
                    + node.op + "' (use detach() for a new leaf)");
        }
        if (value && !dtype().isFloating()) {
            throw new IllegalArgumentException("requiresGrad: only float tensors can require gradients, got " + dtype());
        }
        this.requiresGrad = value;
        return this;
    }

    /** The accumulated gradient, or null before any backward reached this tensor. */
    public Tensor grad() {
        return grad;
    }

    public void setGrad(Tensor g) {
        if (g != null && (!g.shape.equals(shape) || g.dtype() != dtype())) {
            throw new IllegalArgumentException("setGrad: gradient " + g.dtype() + " " + g.shape
                    + " does not match tensor " + dtype() + " " + shape);
        }
        this.grad = g;
    }

    /** Drops the gradient (PyTorch's zero_grad with set_to_none). */
    public void zeroGrad() {
        this.grad = null;
    }

    /** True for tensors not made by a recorded op. */
    public boolean isLeaf() {
        return node == null;
    }

    /** The op that made this tensor ("matmul", a custom function's name), or null for leaves. */
    public String opName() {
        return node == null ? null : node.op;
    }

    /** The tensors this one was made from, in the recorded graph (empty for leaves). */
    public List<Tensor> graphInputs() {
        return node == null ? List.of() : List.of(node.inputs);
    }

    /** Keeps the gradient of this non-leaf tensor after backward. */
    public Tensor retainGrad() {
        this.retainGrad = true;
        return this;
    }

    boolean retainsGrad() {
        return retainGrad;
    }

    /** The same data as a new leaf that does not require a gradient. */
    public Tensor detach() {
        return new Tensor(storage, shape, strides, offset);
    }

    /** Backward from a scalar: d this / d leaf accumulates into every leaf's {@link #grad()}. */
    public void backward() {
        if (numel() != 1) {
            throw new IllegalStateException("backward: called on a tensor of shape " + shape
                    + "; give an upstream gradient for non-scalar outputs");
        }
        backward(onesLike(), false);
    }

    public void backward(Tensor upstream) {
        backward(upstream, false);
    }

    /** Backward with an explicit upstream gradient; retainGraph keeps saved tensors for another backward. */
    public void backward(Tensor upstream, boolean retainGraph) {
        Autograd.backward(this, upstream, retainGraph);
    }

    Node node() {
        return node;
    }

    void attach(Node n) {
        this.node = n;
        this.requiresGrad = true;
    }

    /**
     * Adds g to this tensor's gradient. The first one is copied, so that a grad never aliases another
     * tensor's storage, unless owned: g's buffer is its own, made for this tensor alone (PyTorch's
     * AccumulateGrad takes such a gradient as it is, too).
     */
    void accumulateGrad(Tensor g, boolean owned) {
        grad = grad != null ? grad.add(g) : owned && g.dtype() == dtype() ? g : Backends.on(g).copy(g, dtype());
    }

    // ------------------------------------------------------------------ devices

    /**
     * This tensor on another device: itself when it is already there, else a contiguous copy whose
     * gradient flows back to this tensor's device.
     */
    public Tensor to(Device target) {
        if (target == device()) return this;
        Tensor out = copyTo(target);
        Device from = device();
        return Autograd.record("to", out, (g, n) -> new Tensor[] {g.copyTo(from)}, this);
    }

    /** This tensor on the host ({@code to(Device.cpu())}). */
    public Tensor toHost() {
        return to(Device.cpu());
    }

    private Tensor copyTo(Device target) {
        if (target == device()) return this;
        if (!device().isHost() && !target.isHost()) return copyTo(Device.cpu()).copyTo(target);
        boolean whole = isContiguous() && offset == 0 && storage.length() == numel();
        Storage src = whole ? storage : Backends.on(this).copy(this, dtype()).storage;
        Storage dst = target.isHost() ? Storage.allocate(dtype(), numel()) : Storage.onDevice(target, dtype(), numel());
        if (target.isHost()) src.memory.download(dst);
        else dst.memory.upload(src);
        return new Tensor(dst, shape, shape.contiguousStrides(), 0);
    }

    /** The same view (shape, strides, offset) of a host copy of this device tensor's whole storage; not recorded. */
    Tensor hostView() {
        Storage h = Storage.allocate(dtype(), storage.length());
        storage.memory.download(h);
        return new Tensor(h, shape, strides, offset);
    }

    /** This tensor's values on the host, for reading: itself on the host, else a copy (not recorded). */
    private Tensor onHost() {
        return storage.memory == null ? this : detach().copyTo(Device.cpu());
    }

    // ------------------------------------------------------------------ data access

    /** The value of a one-element tensor. */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor has " + numel() + " elements, shape " + shape);
        if (storage.memory != null) return onHost().item();
        return storage.get(offset);
    }

    /** The element at a full index. */
    public double getDouble(int... index) {
        if (index.length != dim()) {
            throw new IllegalArgumentException("get: index " + Arrays.toString(index) + " has " + index.length
                    + " dims, tensor " + shape + " has " + dim());
        }
        if (storage.memory != null) return onHost().getDouble(index);
        int at = offset;
        for (int d = 0; d < index.length; d++) {
            if (index[d] < 0 || index[d] >= shape.dim(d)) {
                throw new IndexOutOfBoundsException("get: index " + Arrays.toString(index) + " is out of bounds for " + shape);
            }
            at += index[d] * strides[d];
        }
        return storage.get(at);
    }

    /** Storage offsets of all elements in row-major order. */
    int[] storageOffsets() {
        return offsets(shape, strides, offset);
    }

    /** Storage offsets, in row-major order, of a view (shape, strides, offset). */
    static int[] offsets(Shape shape, int[] strides, int offset) {
        int n = shape.numel(), r = shape.rank();
        int[] out = new int[n];
        if (n == 0) return out;
        int[] idx = new int[r];
        int at = offset;
        for (int k = 0; k < n; k++) {
            out[k] = at;
            for (int d = r - 1; d >= 0; d--) {
                at += strides[d];
                if (++idx[d] < shape.dim(d)) break;
                at -= strides[d] * shape.dim(d);
                idx[d] = 0;
            }
        }
        return out;
    }

    /** All elements in row-major order, as a new double array. */
    public double[] toDoubleArray() {
        if (storage.memory != null) return onHost().toDoubleArray();
        int n = numel();
        if (isContiguous() && storage.dtype == DType.FLOAT64) return Arrays.copyOfRange(storage.d, offset, offset + n);
        double[] out = new double[n];
        if (isContiguous()) {
            for (int k = 0; k < n; k++) out[k] = storage.get(offset + k);
        } else {
            int[] at = storageOffsets();
            for (int k = 0; k < n; k++) out[k] = storage.get(at[k]);
        }
        return out;
    }

    public float[] toFloatArray() {
        double[] d = toDoubleArray();
        float[] f = new float[d.length];
        for (int k = 0; k < d.length; k++) f[k] = (float) d[k];
        return f;
    }

    /** Elements as ints (float values are truncated toward zero). */
    public int[] toIntArray() {
        if (storage.memory != null) return onHost().toIntArray();
        int n = numel();
        if ((storage.dtype == DType.INT32 || storage.dtype == DType.BOOL) && isContiguous()) {
            return Arrays.copyOfRange(storage.i, offset, offset + n);
        }
        int[] at = storageOffsets();
        int[] out = new int[n];
        for (int k = 0; k < n; k++) out[k] = (int) storage.get(at[k]);
        return out;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("tensor(");
        if (numel() <= 100) {
            double[] v = toDoubleArray();
            format(sb, v, 0, 0);
        } else {
            sb.append("<").append(numel()).append(" elements>");
        }
        sb.append(", shape=").append(shape).append(", ").append(dtype());
        if (!device().isHost()) sb.append(", device=").append(device());
        if (node != null) sb.append(", op=").append(node.op);
        else if (requiresGrad) sb.append(", requires_grad");
        return sb.append(')').toString();
    }

    private int format(StringBuilder sb, double[] v, int d, int at) {
        if (d == dim()) {
            double x = v[at];
            sb.append(dtype().isFloating() ? Double.toString(x) : Long.toString((long) x));
            return at + 1;
        }
        sb.append('[');
        for (int i = 0; i < size(d); i++) {
            if (i > 0) sb.append(", ");
            at = format(sb, v, d + 1, at);
        }
        sb.append(']');
        return at;
    }

    // ------------------------------------------------------------------ elementwise (UnaryOps, BinaryOps)

    public Tensor neg() { return UnaryOps.apply(UnaryOps.NEG, this); }
    public Tensor exp() { return UnaryOps.apply(UnaryOps.EXP, this); }
    public Tensor log() { return UnaryOps.apply(UnaryOps.LOG, this); }
    public Tensor sqrt() { return UnaryOps.apply(UnaryOps.SQRT, this); }
    public Tensor rsqrt() { return UnaryOps.apply(UnaryOps.RSQRT, this); }
    public Tensor abs() { return UnaryOps.apply(UnaryOps.ABS, this); }
    public Tensor sign() { return UnaryOps.apply(UnaryOps.SIGN, this); }
    public Tensor sin() { return UnaryOps.apply(UnaryOps.SIN, this); }
    public Tensor cos() { return UnaryOps.apply(UnaryOps.COS, this); }
    public Tensor tanh() { return UnaryOps.apply(UnaryOps.TANH, this); }
    public Tensor sigmoid() { return UnaryOps.apply(UnaryOps.SIGMOID, this); }
    public Tensor relu() { return UnaryOps.apply(UnaryOps.RELU, this); }
    public Tensor relu6() { return UnaryOps.apply(UnaryOps.RELU6, this); }
    /** Exact GELU, x·Φ(x) (PyTorch's approximate='none'). */
    public Tensor gelu() { return UnaryOps.apply(UnaryOps.GELU, this); }
    public Tensor silu() { return UnaryOps.apply(UnaryOps.SILU, this); }
    public Tensor leakyRelu(double slope) { return UnaryOps.apply(UnaryOps.leakyRelu(slope), this); }
    /** Clamps to [min, max]; pass ±infinity for a one-sided clamp. */
    public Tensor clamp(double min, double max) { return UnaryOps.apply(UnaryOps.clamp(min, max), this); }
    public Tensor pow(double exponent) { return UnaryOps.apply(UnaryOps.powScalar(exponent), this); }
    public Tensor square() { return mul(this); }
    public Tensor reciprocal() { return scalarLike(1).div(this); }

    public Tensor add(Tensor o) { return BinaryOps.add(this, o); }
    public Tensor sub(Tensor o) { return BinaryOps.sub(this, o); }
    public Tensor mul(Tensor o) { return BinaryOps.mul(this, o); }
    public Tensor div(Tensor o) { return BinaryOps.div(this, o); }
    public Tensor pow(Tensor o) { return BinaryOps.pow(this, o); }
    public Tensor minimum(Tensor o) { return BinaryOps.minimum(this, o); }
    public Tensor maximum(Tensor o) { return BinaryOps.maximum(this, o); }
    public Tensor add(double v) { return add(scalarLike(v)); }
    public Tensor sub(double v) { return sub(scalarLike(v)); }
    public Tensor mul(double v) { return mul(scalarLike(v)); }
    public Tensor div(double v) { return div(scalarLike(v)); }

    /** PyTorch's {@code x.where(cond, other)}: this where cond is true, other elsewhere. */
    public Tensor where(Tensor cond, Tensor other) { return BinaryOps.where(cond, this, other); }
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return BinaryOps.where(cond, a, b); }

    public Tensor eq(Tensor o) { return BinaryOps.compare(BinaryOps.Fn.EQ, this, o); }
    public Tensor ne(Tensor o) { return BinaryOps.compare(BinaryOps.Fn.NE, this, o); }
    public Tensor lt(Tensor o) { return BinaryOps.compare(BinaryOps.Fn.LT, this, o); }
    public Tensor le(Tensor o) { return BinaryOps.compare(BinaryOps.Fn.LE, this, o); }
    public Tensor gt(Tensor o) { return BinaryOps.compare(BinaryOps.Fn.GT, this, o); }
    public Tensor ge(Tensor o) { return BinaryOps.compare(BinaryOps.Fn.GE, this, o); }
    public Tensor eq(double v) { return eq(scalarLike(v)); }
    public Tensor ne(double v) { return ne(scalarLike(v)); }
    public Tensor lt(double v) { return lt(scalarLike(v)); }
    public Tensor le(double v) { return le(scalarLike(v)); }
    public Tensor gt(double v) { return gt(scalarLike(v)); }
    public Tensor ge(double v) { return ge(scalarLike(v)); }
    public Tensor logicalNot() { return eq(0.0); }
    public Tensor logicalAnd(Tensor o) { return ne(0.0).to(DType.INT32).mul(o.ne(0.0).to(DType.INT32)).ne(0.0); }
    public Tensor logicalOr(Tensor o) { return ne(0.0).to(DType.INT32).add(o.ne(0.0).to(DType.INT32)).ne(0.0); }

    /** A copy converted to dtype (this tensor itself when it already has it); gradients flow back. */
    public Tensor to(DType dtype) { return BinaryOps.cast(this, dtype); }

    /** x + (q − x).detach(): the value of q, the gradient of x (straight-through estimator). */
    public static Tensor straightThrough(Tensor x, Tensor q) { return x.add(q.sub(x).detach()); }

    private Tensor scalarLike(double v) {
        DType t = dtype().isFloating() ? dtype() : (v == Math.rint(v) ? DType.INT32 : DType.FLOAT32);
        return scalar(v, t);
    }

    // ------------------------------------------------------------------ reductions (ReduceOps)

    /** Sum of all elements, rank 0. */
    public Tensor sum() { return ReduceOps.sum(this, new int[0], false); }
    public Tensor sum(int... dims) { return ReduceOps.sum(this, dims, false); }
    public Tensor sum(int[] dims, boolean keepdim) { return ReduceOps.sum(this, dims, keepdim); }
    public Tensor mean() { return ReduceOps.mean(this, new int[0], false); }
    public Tensor mean(int... dims) { return ReduceOps.mean(this, dims, false); }
    public Tensor mean(int[] dims, boolean keepdim) { return ReduceOps.mean(this, dims, keepdim); }
    /** Unbiased variance over all elements. */
    public Tensor var() { return ReduceOps.var(this, new int[0], 1, false); }
    /** Variance with the given correction (1 unbiased, 0 biased). */
    public Tensor var(int[] dims, int correction, boolean keepdim) { return ReduceOps.var(this, dims, correction, keepdim); }
    public Tensor std() { return var().sqrt(); }
    public Tensor std(int[] dims, int correction, boolean keepdim) { return var(dims, correction, keepdim).sqrt(); }
    public Tensor amax() { return ReduceOps.amax(this, new int[0], false); }
    public Tensor amax(int[] dims, boolean keepdim) { return ReduceOps.amax(this, dims, keepdim); }
    public Tensor amin() { return neg().amax().neg(); }
    public Tensor amin(int[] dims, boolean keepdim) { return neg().amax(dims, keepdim).neg(); }
    /** Max along dim, with the index of its first occurrence. */
    public ReduceOps.ValuesIndices max(int dim, boolean keepdim) { return ReduceOps.maxDim(this, dim, keepdim, false); }
    public ReduceOps.ValuesIndices min(int dim, boolean keepdim) { return ReduceOps.maxDim(this, dim, keepdim, true); }
    public Tensor argmax(int dim, boolean keepdim) { return ReduceOps.argmax(this, dim, keepdim, false); }
    public Tensor argmin(int dim, boolean keepdim) { return ReduceOps.argmax(this, dim, keepdim, true); }
    /** Index of the maximum of the flattened tensor. */
    public Tensor argmax() { return ReduceOps.argmax(reshape(-1), 0, false, false); }
    public Tensor logsumexp(int[] dims, boolean keepdim) { return ReduceOps.logsumexp(this, dims, keepdim); }
    public Tensor norm() { return ReduceOps.norm(this, 2, new int[0], false); }
    public Tensor norm(double p, int[] dims, boolean keepdim) { return ReduceOps.norm(this, p, dims, keepdim); }
    public Tensor softmax(int dim) { return ReduceOps.softmax(this, dim); }
    public Tensor logSoftmax(int dim) { return ReduceOps.logSoftmax(this, dim); }

    // ------------------------------------------------------------------ movement (ViewOps)

    /** A view when possible, else a copy; one size may be -1. */
    public Tensor reshape(int... sizes) { return ViewOps.reshape(this, sizes); }
    /** A view; fails when the strides do not allow one. */
    public Tensor view(int... sizes) { return ViewOps.view(this, sizes); }
    public Tensor flatten() { return reshape(-1); }

    /** Merges dims start..end (inclusive) into one. */
    public Tensor flatten(int start, int end) {
        int s = shape.normalize(start, "flatten"), e = shape.normalize(end, "flatten");
        if (s > e) throw new IllegalArgumentException("flatten: start " + start + " is after end " + end + " for " + shape);
        int[] d = shape.dims();
        int[] out = new int[dim() - (e - s)];
        int k = 0, merged = 1;
        for (int i = 0; i < d.length; i++) {
            if (i < s || i > e) out[k++] = d[i];
            else {
                merged *= d[i];
                if (i == e) out[k++] = merged;
            }
        }
        return reshape(out);
    }

    /** Splits dim into sizes (one may be -1). */
    public Tensor unflatten(int dim, int... sizes) {
        int d = shape.normalize(dim, "unflatten");
        Shape part = ViewOps.inferShape(Shape.of(size(d)), sizes, "unflatten");
        int[] out = new int[dim() - 1 + sizes.length];
        int k = 0;
        for (int i = 0; i < dim(); i++) {
            if (i == d) for (int s : part.dims()) out[k++] = s;
            else out[k++] = size(i);
        }
        return reshape(out);
    }

    public Tensor permute(int... order) { return ViewOps.permute(this, order); }

    public Tensor transpose(int d0, int d1) {
        int a = shape.normalize(d0, "transpose"), b = shape.normalize(d1, "transpose");
        int[] order = new int[dim()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        order[a] = b;
        order[b] = a;
        return permute(order);
    }

    /** Transpose of the last two dims. */
    public Tensor mT() {
        if (dim() < 2) throw new IllegalArgumentException("mT: needs at least 2 dims, got " + shape);
        return transpose(-2, -1);
    }

    public Tensor expand(int... sizes) { return ViewOps.expand(this, sizes); }
    public Tensor expandAs(Tensor other) { return expand(other.shape.dims()); }
    /** Elements start, start+step, … below end along dim (Python slice semantics). */
    public Tensor slice(int dim, int start, int end, int step) { return ViewOps.slice(this, dim, start, end, step); }

    /** length elements from start along dim. */
    public Tensor narrow(int dim, int start, int length) {
        int d = shape.normalize(dim, "narrow");
        if (start < 0 || length < 0 || start + length > size(d)) {
            throw new IndexOutOfBoundsException("narrow: [" + start + ", " + (start + length) + ") is outside dim " + dim
                    + " of size " + size(d));
        }
        return slice(d, start, start + length, 1);
    }

    /** The slice at index along dim, with that dim removed. */
    public Tensor select(int dim, int index) {
        int d = shape.normalize(dim, "select");
        int i = index < 0 ? index + size(d) : index;
        if (i < 0 || i >= size(d)) {
            throw new IndexOutOfBoundsException("select: index " + index + " is out of range for dim " + dim + " of " + shape);
        }
        return slice(d, i, i + 1, 1).squeeze(d);
    }

    /** Removes all size-1 dims. */
    public Tensor squeeze() {
        return reshape(Arrays.stream(shape.dims()).filter(s -> s != 1).toArray());
    }

    /** Removes dim if its size is 1 (otherwise returns this, as PyTorch does). */
    public Tensor squeeze(int dim) {
        int d = shape.normalize(dim, "squeeze");
        if (size(d) != 1) return this;
        int[] out = new int[dim() - 1];
        for (int i = 0, k = 0; i < dim(); i++) if (i != d) out[k++] = size(i);
        return reshape(out);
    }

    /** Inserts a size-1 dim at position dim (0..rank; negative counts from rank+1). */
    public Tensor unsqueeze(int dim) {
        int d = dim < 0 ? dim + dim() + 1 : dim;
        if (d < 0 || d > dim()) throw new IllegalArgumentException("unsqueeze: dim " + dim + " is out of range for " + shape);
        int[] out = new int[dim() + 1];
        for (int i = 0, k = 0; i < out.length; i++) out[i] = i == d ? 1 : size(k++);
        return reshape(out);
    }

    public Tensor flip(int... dims) { return ViewOps.flip(this, dims); }
    /** Constant padding in F.pad order (pairs from the last dim backwards); negative amounts crop. */
    public Tensor pad(int[] pads, double value) { return ViewOps.pad(this, pads, value); }
    /** This tensor if already contiguous, otherwise a contiguous copy. */
    public Tensor contiguous() { return isContiguous() ? this : ViewOps.copy(this); }
    /** Always a new copy. */
    public Tensor copy() { return ViewOps.copy(this); }

    public static Tensor cat(List<Tensor> tensors, int dim) { return ViewOps.cat(tensors, dim); }

    /** Joins tensors of one shape along a new dim. */
    public static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("stack: no tensors given");
        Shape first = tensors.get(0).shape;
        List<Tensor> parts = new ArrayList<>();
        for (int k = 0; k < tensors.size(); k++) {
            Tensor t = tensors.get(k);
            if (!t.shape.equals(first)) {
                throw new IllegalArgumentException("stack: tensor " + k + " has shape " + t.shape + ", tensor 0 has " + first);
            }
            parts.add(t.unsqueeze(dim));
        }
        return cat(parts, dim);
    }

    /** Pieces of {@code size} along dim (the last may be smaller). */
    public List<Tensor> split(int size, int dim) {
        if (size < 1) throw new IllegalArgumentException("split: size must be >= 1, got " + size);
        int d = shape.normalize(dim, "split");
        List<Tensor> out = new ArrayList<>();
        for (int s = 0; s < size(d); s += size) out.add(slice(d, s, Math.min(s + size, size(d)), 1));
        return out;
    }

    /** Pieces of the given sizes along dim; they must add up to its size. */
    public List<Tensor> split(int[] sizes, int dim) {
        int d = shape.normalize(dim, "split");
        if (Arrays.stream(sizes).sum() != size(d) || Arrays.stream(sizes).anyMatch(s -> s < 0)) {
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " do not add up to " + size(d)
                    + " (dim " + dim + " of " + shape + ")");
        }
        List<Tensor> out = new ArrayList<>();
        int at = 0;
        for (int s : sizes) {
            out.add(slice(d, at, at + s, 1));
            at += s;
        }
        return out;
    }

    /** At most n pieces of equal size (ceil) along dim. */
    public List<Tensor> chunk(int n, int dim) {
        if (n < 1) throw new IllegalArgumentException("chunk: n must be >= 1, got " + n);
        int d = shape.normalize(dim, "chunk");
        return split(Math.max(1, (size(d) + n - 1) / n), d);
    }

    /** The float32 elements in row-major order: the storage itself when contiguous from 0, else a copy. */
    float[] contiguousData() {
        if (dtype() != DType.FLOAT32) throw new IllegalStateException("contiguousData: " + dtype());
        if (isContiguous() && offset == 0) return storage.f;
        return Backends.cpu().copy(this, DType.FLOAT32).storage.f;
    }

    /** A view of contiguous-compatible data with new sizes, not recorded (kernels' internal use). */
    Tensor rawView(int... sizes) {
        Shape to = Shape.of(sizes);
        int[] s = ViewOps.viewStrides(shape, strides, to);
        if (s == null) return Backends.on(this).copy(this, dtype()).rawView(sizes);
        return new Tensor(storage, to, s, offset);
    }

    /** The leading block [0, sizes[d]) of every dim, not recorded (kernels' internal use). */
    Tensor slicePrefix(int[] sizes) {
        return new Tensor(storage, Shape.of(sizes), strides, offset);
    }

    // ------------------------------------------------------------------ products, indexing, pooling

    /** Matrix product with PyTorch's 1-D and batch-broadcasting rules. */
    public Tensor matmul(Tensor o) { return MatmulOps.matmul(this, o); }
    public Tensor gather(int dim, Tensor index) { return IndexOps.gather(this, dim, index); }
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) { return IndexOps.scatterAdd(this, dim, index, src); }
    public Tensor indexSelect(int dim, Tensor index) { return IndexOps.indexSelect(this, dim, index); }
    public Tensor indexAdd(int dim, Tensor index, Tensor src) { return IndexOps.indexAdd(this, dim, index, src); }
    /** Rows where a bool mask over the leading dims is true (PyTorch's {@code x[mask]}). */
    public Tensor maskedRows(Tensor mask) { return IndexOps.maskedRows(this, mask); }
    /** (count, rank) int32 coordinates of nonzero elements. */
    public Tensor nonzero() { return IndexOps.nonzero(this); }

    // ------------------------------------------------------------------ in place (never recorded)

    private void checkInPlace(String op) {
        if (requiresGrad && Autograd.isGradEnabled()) {
            throw new IllegalStateException(op + ": a tensor " + shape + " that requires grad cannot be modified in place "
                    + "while the graph is recorded; do it inside Autograd.noGrad()");
        }
    }

    /** Writes values through this view; values on another device are copied to this one first (an explicit point). */
    private Tensor writeBack(String op, Tensor values) {
        checkInPlace(op);
        if (values.device() != device() && values.dim() > 0) values = values.to(device());
        Backends.on(op, this, values).copyInto(this, values);
        storage.version++;
        return this;
    }

    /**
     * Replaces this leaf's data (storage, shape, dtype) by src's, keeping the tensor object, its
     * requires-grad flag and its identity — what {@code Module.to(dtype)} needs so that code holding
     * the parameter keeps working. The gradient is dropped. A graph that saved this tensor before
     * fails on backward, as after any in-place change.
     */
    public Tensor setData(Tensor src) {
        if (node != null) throw new IllegalStateException("setData: only leaves can take new data; this tensor was made by '" + node.op + "'");
        if (requiresGrad && !src.dtype().isFloating()) {
            throw new IllegalArgumentException("setData: a tensor that requires grad cannot take " + src.dtype() + " data");
        }
        storage.version++;
        this.storage = src.storage;
        this.shape = src.shape;
        this.strides = src.strides.clone();
        this.offset = src.offset;
        this.grad = null;
        return this;
    }

    /** Copies src (broadcast to this shape) into this tensor's elements; returns this. */
    public Tensor copyFrom(Tensor src) {
        if (!src.shape.equals(shape)) Shape.broadcast(src.shape, shape, "copyFrom");
        return writeBack("copyFrom", src.detach());
    }

    public Tensor fill(double value) {
        return writeBack("fill", scalar(value, dtype()));
    }

    public Tensor zero() {
        return fill(0);
    }

    /** this += alpha · other. */
    public Tensor addInPlace(Tensor other, double alpha) {
        checkInPlace("addInPlace");
        try (var ignored = Autograd.noGrad()) {
            return writeBack("addInPlace", detach().add(other.detach().mul(alpha)));
        }
    }

    /** this *= factor. */
    public Tensor mulInPlace(double factor) {
        checkInPlace("mulInPlace");
        try (var ignored = Autograd.noGrad()) {
            return writeBack("mulInPlace", detach().mul(factor));
        }
    }
}
