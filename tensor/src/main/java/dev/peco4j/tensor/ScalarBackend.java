package dev.peco4j.tensor;

/**
 * The reference backend: plain loops, every dtype, computed in double and rounded once to the
 * output dtype. It favours being obviously right over speed; fast backends are tested against it.
 * Elementwise, reduction and indexing kernels are here; GEMM, convolution and pooling are in
 * {@link ScalarConv}.
 *
 * <p>Kernels first materialize their inputs as row-major double arrays ({@link Tensor#toDoubleArray()}),
 * so none of them deals with strides.
 */
final class ScalarBackend implements Backend {
    static final ScalarBackend INSTANCE = new ScalarBackend();

    private ScalarBackend() {}

    @Override
    public String name() {
        return "scalar (reference, float64 arithmetic)";
    }

    @Override
    public Tensor map(UnaryOps.Fn fn, Tensor x) {
        double[] v = x.toDoubleArray();
        for (int k = 0; k < v.length; k++) v[k] = fn.f().applyAsDouble(v[k]);
        return Tensor.fromDoubles(x.dtype(), x.shape(), v);
    }

    @Override
    public Tensor mapBackward(UnaryOps.Fn fn, Tensor x, Tensor y, Tensor g) {
        double[] xs = x.toDoubleArray(), ys = y.toDoubleArray(), gs = g.toDoubleArray();
        for (int k = 0; k < gs.length; k++) gs[k] *= fn.df().at(xs[k], ys[k]);
        return Tensor.fromDoubles(x.dtype(), x.shape(), gs);
    }

    @Override
    public Tensor zip(BinaryOps.Fn fn, Tensor a, Tensor b, DType out) {
        Shape s = Shape.broadcast(a.shape(), b.shape(), fn.name().toLowerCase());
        double[] as = a.expand(s.dims()).toDoubleArray(), bs = b.expand(s.dims()).toDoubleArray();
        for (int k = 0; k < as.length; k++) as[k] = fn.applyAsDouble(as[k], bs[k]);
        return Tensor.fromDoubles(out, s, as);
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b) {
        double[] c = cond.toDoubleArray(), as = a.toDoubleArray(), bs = b.toDoubleArray();
        for (int k = 0; k < as.length; k++) if (c[k] == 0) as[k] = bs[k];
        return Tensor.fromDoubles(a.dtype(), a.shape(), as);
    }

    @Override
    public Tensor copy(Tensor x, DType dtype) {
        if (x.dtype() == dtype && !dtype.isFloating()) {
            // ints copy exactly without a trip through double
            int[] src = x.toIntArray();
            return new Tensor(Storage.wrap(dtype, src), x.shape(), x.shape().contiguousStrides(), 0);
        }
        return Tensor.fromDoubles(dtype, x.shape(), x.toDoubleArray());
    }

    @Override
    public void copyInto(Tensor dst, Tensor src) {
        double[] v = src.expand(dst.shape().dims()).toDoubleArray();
        int[] off = dst.storageOffsets();
        for (int k = 0; k < v.length; k++) dst.storage.set(off[k], v[k]);
    }

    /** For each element of x (row-major), the flat index of its slot in the keepdim result. */
    private static int[] reducedSlots(Shape in, int[] dims) {
        Shape out = keepdimShape(in, dims);
        int[] outStrides = out.contiguousStrides();
        for (int d : dims) outStrides[d] = 0;
        return Tensor.offsets(in, outStrides, 0);
    }

    private static Shape keepdimShape(Shape in, int[] dims) {
        int[] o = in.dims();
        for (int d : dims) o[d] = 1;
        return Shape.of(o);
    }

    @Override
    public Tensor sum(Tensor x, int[] dims) {
        Shape out = keepdimShape(x.shape(), dims);
        double[] acc = new double[out.numel()];
        double[] v = x.toDoubleArray();
        int[] slot = reducedSlots(x.shape(), dims);
        for (int k = 0; k < v.length; k++) acc[slot[k]] += v[k];
        return Tensor.fromDoubles(x.dtype(), out, acc);
    }

    @Override
    public Tensor amax(Tensor x, int[] dims) {
        Shape out = keepdimShape(x.shape(), dims);
        double[] acc = new double[out.numel()];
        java.util.Arrays.fill(acc, Double.NEGATIVE_INFINITY);
        double[] v = x.toDoubleArray();
        int[] slot = reducedSlots(x.shape(), dims);
        for (int k = 0; k < v.length; k++) {
            int s = slot[k];
            if (Double.isNaN(v[k]) || v[k] > acc[s]) acc[s] = v[k]; // a NaN stays: NaN > x is false
        }
        return Tensor.fromDoubles(x.dtype(), out, acc);
    }

    @Override
    public Tensor argmax(Tensor x, int dim, boolean min) {
        Shape out = keepdimShape(x.shape(), new int[] {dim});
        double[] best = new double[out.numel()];
        int[] arg = new int[out.numel()];
        boolean[] seen = new boolean[out.numel()];
        double[] v = x.toDoubleArray();
        int[] slot = reducedSlots(x.shape(), new int[] {dim});
        int inner = x.shape().contiguousStrides()[dim], size = x.size(dim);
        for (int k = 0; k < v.length; k++) {
            int s = slot[k];
            double a = min ? -v[k] : v[k];
            // NaN wins (as in PyTorch); the first of equal values wins.
            if (!seen[s] || (!Double.isNaN(best[s]) && (Double.isNaN(a) || a > best[s]))) {
                seen[s] = true;
                best[s] = a;
                arg[s] = (k / inner) % size;
            }
        }
        return new Tensor(Storage.wrap(DType.INT32, arg), out, out.contiguousStrides(), 0);
    }

    @Override
    public Tensor softmax(Tensor x, int dim, boolean log) {
        double[] v = x.toDoubleArray();
        int size = x.size(dim), inner = x.shape().contiguousStrides()[dim], outer = v.length / Math.max(1, size * inner);
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * size * inner + i;
                double m = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < size; j++) m = Math.max(m, v[base + j * inner]);
                if (Double.isInfinite(m)) m = 0; // all -inf: keep exp finite, result follows from the sum
                double s = 0;
                for (int j = 0; j < size; j++) s += Math.exp(v[base + j * inner] - m);
                double logZ = m + Math.log(s);
                for (int j = 0; j < size; j++) {
                    int p = base + j * inner;
                    v[p] = log ? v[p] - logZ : Math.exp(v[p] - logZ);
                }
            }
        }
        return Tensor.fromDoubles(x.dtype(), x.shape(), v);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor g, int dim, boolean log) {
        double[] ys = y.toDoubleArray(), gs = g.toDoubleArray();
        int size = y.size(dim), inner = y.shape().contiguousStrides()[dim], outer = ys.length / Math.max(1, size * inner);
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * size * inner + i;
                double s = 0;
                for (int j = 0; j < size; j++) s += log ? gs[base + j * inner] : gs[base + j * inner] * ys[base + j * inner];
                for (int j = 0; j < size; j++) {
                    int p = base + j * inner;
                    gs[p] = log ? gs[p] - Math.exp(ys[p]) * s : ys[p] * (gs[p] - s);
                }
            }
        }
        return Tensor.fromDoubles(y.dtype(), y.shape(), gs);
    }

    @Override
    public Tensor[] crossEntropy(Tensor x, Tensor targets, double smoothing, int ignore) {
        int[] target = targets.toIntArray();
        double[] v = x.toDoubleArray();
        int c = x.size(1), m = target.length;
        double[] loss = new double[m], lse = new double[m];
        for (int r = 0; r < m; r++) {
            double mx = Double.NEGATIVE_INFINITY, sum = 0, s = 0;
            for (int j = 0; j < c; j++) mx = Math.max(mx, v[r * c + j]);
            if (Double.isInfinite(mx)) mx = 0;
            for (int j = 0; j < c; j++) {
                s += Math.exp(v[r * c + j] - mx);
                sum += v[r * c + j];
            }
            lse[r] = mx + Math.log(s);
            if (target[r] != ignore) loss[r] = lse[r] - (1 - smoothing) * v[r * c + target[r]] - smoothing * sum / c;
        }
        return new Tensor[] {Tensor.fromDoubles(x.dtype(), Shape.of(m), loss), Tensor.fromDoubles(x.dtype(), Shape.of(m), lse)};
    }

    @Override
    public Tensor crossEntropyBackward(Tensor x, Tensor lse, Tensor targets, Tensor g, double smoothing, int ignore) {
        int[] target = targets.toIntArray();
        double[] v = x.toDoubleArray(), l = lse.toDoubleArray(), gs = g.toDoubleArray();
        int c = x.size(1), m = target.length;
        for (int r = 0; r < m; r++) {
            for (int j = 0; j < c; j++) {
                int p = r * c + j;
                v[p] = target[r] == ignore ? 0
                        : gs[r] * (Math.exp(v[p] - l[r]) - (j == target[r] ? 1 - smoothing : 0) - smoothing / c);
            }
        }
        return Tensor.fromDoubles(x.dtype(), x.shape(), v);
    }

    @Override
    public Tensor[] layerNorm(Tensor x, Tensor w, Tensor b, int d, double eps) {
        double[] v = x.toDoubleArray(), ws = w == null ? null : w.toDoubleArray(), bs = b == null ? null : b.toDoubleArray();
        int rows = v.length / Math.max(1, d);
        double[] mean = new double[rows], rstd = new double[rows];
        for (int r = 0; r < rows; r++) {
            double m = 0, q = 0;
            for (int j = 0; j < d; j++) m += v[r * d + j];
            m /= d;
            for (int j = 0; j < d; j++) q += (v[r * d + j] - m) * (v[r * d + j] - m);
            double rs = 1 / Math.sqrt(q / d + eps);
            mean[r] = m;
            rstd[r] = rs;
            for (int j = 0; j < d; j++) {
                double y = (v[r * d + j] - m) * rs;
                v[r * d + j] = y * (ws == null ? 1 : ws[j]) + (bs == null ? 0 : bs[j]);
            }
        }
        return new Tensor[] {Tensor.fromDoubles(x.dtype(), x.shape(), v), Tensor.fromDoubles(x.dtype(), Shape.of(rows), mean),
            Tensor.fromDoubles(x.dtype(), Shape.of(rows), rstd)};
    }

    @Override
    public Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, int d) {
        double[] g = dy.toDoubleArray(), v = x.toDoubleArray(), ws = w == null ? null : w.toDoubleArray();
        double[] ms = mean.toDoubleArray(), rs = rstd.toDoubleArray();
        int rows = v.length / Math.max(1, d);
        double[] dx = new double[v.length], dw = new double[d], db = new double[d];
        for (int r = 0; r < rows; r++) {
            double sg = 0, sgx = 0;
            for (int j = 0; j < d; j++) {
                int k = r * d + j;
                double xhat = (v[k] - ms[r]) * rs[r], gw = g[k] * (ws == null ? 1 : ws[j]);
                sg += gw;
                sgx += gw * xhat;
                dw[j] += g[k] * xhat;
                db[j] += g[k];
            }
            for (int j = 0; j < d; j++) {
                int k = r * d + j;
                double xhat = (v[k] - ms[r]) * rs[r], gw = g[k] * (ws == null ? 1 : ws[j]);
                dx[k] = rs[r] * (gw - sg / d - xhat * sgx / d);
            }
        }
        Tensor dxT = Tensor.fromDoubles(x.dtype(), x.shape(), dx);
        if (w == null) return new Tensor[] {dxT, null, null};
        return new Tensor[] {dxT, Tensor.fromDoubles(w.dtype(), w.shape(), dw), Tensor.fromDoubles(w.dtype(), w.shape(), db)};
    }

    @Override
    public Tensor[] sdpa(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scale) {
        return ScalarAttention.forward(q, k, v, bias, keyMask, scale);
    }

    @Override
    public Tensor[] sdpaBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, Tensor out,
                                 Tensor lse, double scale, boolean biasGrad) {
        return ScalarAttention.backward(dout, q, k, v, bias, keyMask, lse, scale, biasGrad);
    }

    @Override
    public void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStep s) {
        double[] ps = p.toDoubleArray(), gs = g.toDoubleArray(), ms = m.toDoubleArray(), vs = v.toDoubleArray();
        double stepSize = s.lr() / s.biasCorrection1(), bc2 = Math.sqrt(s.biasCorrection2());
        for (int i = 0; i < ps.length; i++) {
            double gi = gs[i];
            if (s.weightDecay() != 0) {
                if (s.decoupled()) ps[i] *= 1 - s.lr() * s.weightDecay();
                else gi += s.weightDecay() * ps[i];
            }
            ms[i] = s.beta1() * ms[i] + (1 - s.beta1()) * gi;
            vs[i] = s.beta2() * vs[i] + (1 - s.beta2()) * gi * gi;
            ps[i] -= stepSize * ms[i] / (Math.sqrt(vs[i]) / bc2 + s.eps());
        }
        copyInto(p, Tensor.fromDoubles(p.dtype(), p.shape(), ps));
        copyInto(m, Tensor.fromDoubles(m.dtype(), m.shape(), ms));
        copyInto(v, Tensor.fromDoubles(v.dtype(), v.shape(), vs));
        p.storage.version++;
        m.storage.version++;
        v.storage.version++;
    }

    @Override
    public Tensor[] linear(Tensor x, Tensor w, Tensor b, UnaryOps.Fn act) {
        Tensor z = bmm(x.rawView(1, x.size(0), x.size(1)), w.mT().rawView(1, w.size(1), w.size(0)));
        z = z.rawView(x.size(0), w.size(0));
        if (b != null) z = zip(BinaryOps.Fn.ADD, z, b, z.dtype());
        return act == null ? new Tensor[] {z, null} : new Tensor[] {map(act, z), z};
    }

    @Override
    public Tensor bmm(Tensor a, Tensor b) {
        return ScalarConv.bmm(a, b);
    }

    /** Position of x's element addressed by index element k: index's multi-index with dim replaced. */
    private static int[] indexedOffsets(Shape idxShape, Shape xShape, int dim, int[] idx) {
        int[] xStrides = xShape.contiguousStrides();
        int[] strides = xStrides.clone();
        strides[dim] = 0;
        int[] base = Tensor.offsets(idxShape, strides, 0);
        for (int k = 0; k < base.length; k++) base[k] += idx[k] * xStrides[dim];
        return base;
    }

    @Override
    public Tensor gather(Tensor x, int dim, Tensor index) {
        double[] v = x.toDoubleArray();
        int[] idx = index.toIntArray();
        int[] at = indexedOffsets(index.shape(), x.shape(), dim, idx);
        double[] out = new double[idx.length];
        for (int k = 0; k < out.length; k++) out[k] = v[at[k]];
        return Tensor.fromDoubles(x.dtype(), index.shape(), out);
    }

    @Override
    public Tensor scatterAdd(Tensor self, int dim, Tensor index, Tensor src) {
        double[] out = self.toDoubleArray();
        int[] idx = index.toIntArray();
        int[] at = indexedOffsets(index.shape(), self.shape(), dim, idx);
        // src is read at index's positions (src may be larger than index)
        int[] srcIdx = index.shape().dims();
        double[] s = src.slicePrefix(srcIdx).toDoubleArray();
        for (int k = 0; k < at.length; k++) out[at[k]] += s[k];
        return Tensor.fromDoubles(self.dtype(), self.shape(), out);
    }

    @Override
    public Tensor indexSelect(Tensor x, int dim, Tensor index) {
        int[] idx = index.toIntArray();
        Shape out = x.shape().with(dim, idx.length);
        double[] v = x.toDoubleArray();
        double[] r = new double[out.numel()];
        int inner = x.shape().contiguousStrides()[dim], size = x.size(dim), outer = v.length / Math.max(1, size * inner);
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < idx.length; j++) {
                System.arraycopy(v, (o * size + idx[j]) * inner, r, (o * idx.length + j) * inner, inner);
            }
        }
        return Tensor.fromDoubles(x.dtype(), out, r);
    }

    @Override
    public Tensor indexAdd(Tensor self, int dim, Tensor index, Tensor src) {
        int[] idx = index.toIntArray();
        double[] out = self.toDoubleArray();
        double[] s = src.toDoubleArray();
        int inner = self.shape().contiguousStrides()[dim], size = self.size(dim), outer = out.length / Math.max(1, size * inner);
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < idx.length; j++) {
                int to = (o * size + idx[j]) * inner, from = (o * idx.length + j) * inner;
                for (int i = 0; i < inner; i++) out[to + i] += s[from + i];
            }
        }
        return Tensor.fromDoubles(self.dtype(), self.shape(), out);
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        return ScalarConv.conv2d(x, w, p);
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor g, Tensor w, Shape inputShape, Conv2dParams p) {
        return ScalarConv.conv2dBackwardInput(g, w, inputShape, p);
    }

    @Override
    public Tensor conv2dBackwardWeight(Tensor g, Tensor x, Shape weightShape, Conv2dParams p) {
        return ScalarConv.conv2dBackwardWeight(g, x, weightShape, p);
    }

    @Override
    public Tensor avgPool2d(Tensor x, Pool2dParams p) {
        return ScalarPool.avgPool2d(x, p);
    }

    @Override
    public Tensor avgPool2dBackward(Tensor g, Shape inputShape, Pool2dParams p) {
        return ScalarPool.avgPool2dBackward(g, inputShape, p);
    }

    @Override
    public Tensor[] maxPool2d(Tensor x, Pool2dParams p) {
        return ScalarPool.maxPool2d(x, p);
    }

    @Override
    public Tensor maxPool2dBackward(Tensor g, Tensor indices, Shape inputShape) {
        return ScalarPool.maxPool2dBackward(g, indices, inputShape);
    }

    @Override
    public Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return ScalarPool.adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    public Tensor adaptiveAvgPool2dBackward(Tensor g, Shape inputShape) {
        return ScalarPool.adaptiveAvgPool2dBackward(g, inputShape);
    }
}
