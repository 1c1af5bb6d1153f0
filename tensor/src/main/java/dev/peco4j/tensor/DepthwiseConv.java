package dev.peco4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 depthwise convolution: one input channel per group (groups = C, O = M·C, output channel o
 * reads input channel o / M), any kernel, stride, padding and dilation, all three directions, without
 * im2col. MobileNetV2's 3×3 depthwise layers (stride 1 and 2) are the case: as im2col + GEMM each
 * group was a GEMM of one row with KH·KW of depth, so the copies were all of its time (8×96×56²
 * fwd+bwd: 47 ms, 2.7 GFLOP/s on one Zen 5 core).
 *
 * <p>Each input plane is copied once into {@link VectorConv.Padded}'s zero-padded layout, its columns
 * split by stride phase, where every tap's output row is a contiguous run (run_t(i) below). Then:
 * <ul>
 *   <li>forward: y[i, j…] = Σ_t w[o, t] · run_t(i)[j…], the taps in order in one register;</li>
 *   <li>input gradient, as a gather into the same padded layout (each padded element written once, no
 *       read-modify-write, whose overlapping vector stores stalled on store forwarding): padded
 *       element (r, q) = Σ w[o, a, b] · dy[i, j] over the taps with r = i·SH + a·DH, q = j·SW + b·DW;
 *       within one column phase the j of a tap are contiguous, so each is one shifted vector read of a
 *       zero-bordered copy of dy. The interior is then added into dx;</li>
 *   <li>weight gradient: dw[o, t] = Σ_n Σ_i dy[i, j…] · run_t(i)[j…], lane sums in a fixed order.</li>
 * </ul>
 * A row's last, partial vector is masked where it meets y or dy, and whole where it only runs into
 * scratch (the next padded row, written after it, or the buffers' slack). Masks are made where they
 * are used ({@code S.indexInRange}): one passed in or captured by the task's lambda was not unboxed by
 * C2, which made the weight gradient 3× and the stride-2 forward 2× slower.
 * Forward and input gradient run one (image, input channel) plane per task, the weight gradient one
 * input channel per task over the images in order, so the bits do not depend on the thread count.
 */
final class DepthwiseConv {
    private DepthwiseConv() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Whether this convolution of x is depthwise (one input channel per group, more than one group). */
    static boolean applies(Shape x, Conv2dParams p) {
        return p.groups() > 1 && p.groups() == x.dim(1);
    }

    /** The padded layout of one plane, where tap t of output row i starts (taps[t] + i·rowStride()), and the slack each buffer needs. */
    private record Plan(VectorConv.Padded pad, int[] taps) {
        static Plan of(VectorConv.Geo s) {
            VectorConv.Padded pad = new VectorConv.Padded(s);
            int[] taps = new int[s.kh() * s.kw()];
            for (int a = 0; a < s.kh(); a++) for (int b = 0; b < s.kw(); b++) taps[a * s.kw() + b] = pad.tap(a, b);
            return new Plan(pad, taps);
        }

        /** Floats of a padded plane and the slack that a row's last vector reads or writes past it. */
        int planeFloats() {
            return pad.size() + L;
        }

        /** Σ_t w[wo + t] · run_t from position at, one whole vector (its lanes past the row's end are junk). */
        FloatVector gather(float[] pp, int at, float[] w, int wo) {
            FloatVector acc = FloatVector.zero(S);
            for (int t = 0; t < taps.length; t++) acc = FloatVector.fromArray(S, pp, taps[t] + at).fma(FloatVector.broadcast(S, w[wo + t]), acc);
            return acc;
        }
    }

    static Tensor forward(Tensor xt, Tensor wt, Conv2dParams p, Parallel par) {
        return forward(xt.contiguousData(), xt.shape(), wt.contiguousData(), wt.shape(), p, par);
    }

    private static Tensor forward(float[] x, Shape xs, float[] w, Shape wshape, Conv2dParams p, Parallel par) {
        int oh = Conv2dParams.convOut(xs.dim(2), wshape.dim(2), p.strideH(), p.padH(), p.dilationH());
        int ow = Conv2dParams.convOut(xs.dim(3), wshape.dim(3), p.strideW(), p.padW(), p.dilationW());
        VectorConv.Geo s = VectorConv.geo(xs, wshape, oh, ow, p);
        float[] y = new float[s.n() * s.o() * oh * ow];
        Shape ys = Shape.of(s.n(), s.o(), oh, ow);
        if (y.length > 0) {
            Plan plan = Plan.of(s);
            int m = s.og(), nt = plan.taps().length, hw = s.h() * s.w(), plane = oh * ow, rs = plan.pad().rowStride();
            par.forRange(s.n() * s.c(), 1, (from, to) -> {
                float[] pp = VectorConv.Scratch.get().floats(2, plan.planeFloats());
                for (int nc = from; nc < to; nc++) {
                    plan.pad().fill(x, nc * hw, pp);
                    for (int k = 0; k < m; k++) {
                        int wo = (nc % s.c() * m + k) * nt, yo = (nc * m + k) * plane;
                        for (int i = 0; i < oh; i++) {
                            int j = 0, yi = yo + i * ow;
                            for (; j + L <= ow; j += L) plan.gather(pp, i * rs + j, w, wo).intoArray(y, yi + j);
                            if (j < ow) plan.gather(pp, i * rs + j, w, wo).intoArray(y, yi + j, S.indexInRange(j, ow));
                        }
                    }
                }
            });
        }
        return new Tensor(Storage.wrap(y), ys, ys.contiguousStrides(), 0);
    }

    static Tensor backwardInput(Tensor gt, Tensor wt, Shape xs, Conv2dParams p, Parallel par) {
        VectorConv.Geo s = VectorConv.geo(xs, wt.shape(), gt.size(2), gt.size(3), p);
        int oh = s.oh(), ow = s.ow(), sh = p.strideH(), sw = p.strideW(), kh = s.kh(), kw = s.kw(), nt = kh * kw;
        int fh = (kh - 1) * p.dilationH() - p.padH(), fw = (kw - 1) * p.dilationW() - p.padW();
        if (sh == 1 && sw == 1 && s.og() == 1 && fh >= 0 && fw >= 0 && oh + 2 * fh - (kh - 1) * p.dilationH() == s.h()
                && ow + 2 * fw - (kw - 1) * p.dilationW() == s.w()) {
            // stride 1, one output per channel: dx is the forward of dy with the flipped kernel and padding (K − 1)·D − pad
            float[] wf = wt.contiguousData(), flipped = new float[wf.length];
            for (int c = 0; c < s.c(); c++) for (int t = 0; t < nt; t++) flipped[c * nt + t] = wf[c * nt + nt - 1 - t];
            return forward(gt.contiguousData(), gt.shape(), flipped, wt.shape(), new Conv2dParams(1, 1, fh, fw, p.dilationH(), p.dilationW(), p.groups(), 0, 0), par);
        }
        float[] g = gt.contiguousData(), w = wt.contiguousData(), dx = new float[xs.numel()];
        if (dx.length == 0 || oh * ow == 0) return new Tensor(Storage.wrap(dx), xs, xs.contiguousStrides(), 0);
        VectorConv.Padded pad = new VectorConv.Padded(s);
        int hp = pad.hp(), wq = pad.wq();
        // dy of one output channel with ml zero columns on the left and zeros past ow: the shifted reads of every tap stay inside
        int ml = (kw - 1) * p.dilationW() / sw, wd = ml + Math.max(ow, wq) + L, hw = s.h() * s.w(), plane = oh * ow, m = s.og();
        // for padded row r of column phase φ, the taps reaching it: pairs (where in dyp, relative to column u of channel k's rows; tap)
        int[][] reads = new int[sw * hp][];
        for (int phase = 0; phase < sw; phase++) {
            for (int r = 0; r < hp; r++) {
                int[] pairs = new int[2 * nt];
                int count = 0;
                for (int a = 0; a < kh; a++) {
                    int di = r - a * p.dilationH();
                    if (di < 0 || di % sh != 0 || di / sh >= oh) continue;
                    for (int b = 0; b < kw; b++) {
                        int db = b * p.dilationW() - phase;
                        if (db < 0 || db % sw != 0) continue;
                        pairs[count++] = di / sh * wd + ml - db / sw;
                        pairs[count++] = a * kw + b;
                    }
                }
                reads[phase * hp + r] = java.util.Arrays.copyOf(pairs, count);
            }
        }
        par.forRange(s.n() * s.c(), 1, (from, to) -> {
            VectorConv.Scratch scratch = VectorConv.Scratch.get();
            float[] gp = scratch.floats(2, pad.size() + L), dyp = scratch.floats(1, m * oh * wd);
            java.util.Arrays.fill(dyp, 0, m * oh * wd, 0f);
            for (int nc = from; nc < to; nc++) {
                int c = nc % s.c();
                for (int k = 0; k < m; k++) {
                    for (int i = 0; i < oh; i++) System.arraycopy(g, (nc * m + k) * plane + i * ow, dyp, (k * oh + i) * wd + ml, ow);
                }
                for (int row = 0; row < sw * hp; row++) {
                    int[] pairs = reads[row];
                    for (int u = 0; u < wq; u += L) {            // the row's last vector runs into the next row, which is written after it
                        FloatVector acc = FloatVector.zero(S);
                        for (int k = 0; k < m; k++) {
                            int base = k * oh * wd + u, wo = (c * m + k) * nt;
                            for (int e = 0; e < pairs.length; e += 2) {
                                acc = FloatVector.fromArray(S, dyp, base + pairs[e]).fma(FloatVector.broadcast(S, w[wo + pairs[e + 1]]), acc);
                            }
                        }
                        acc.intoArray(gp, row * wq + u);
                    }
                }
                pad.addBack(gp, dx, nc * hw);
            }
        });
        return new Tensor(Storage.wrap(dx), xs, xs.contiguousStrides(), 0);
    }

    static Tensor backwardWeight(Tensor gt, Tensor xt, Shape ws, Conv2dParams p, Parallel par) {
        VectorConv.Geo s = VectorConv.geo(xt.shape(), ws, gt.size(2), gt.size(3), p);
        float[] g = gt.contiguousData(), x = xt.contiguousData(), dw = new float[ws.numel()];
        int oh = s.oh(), ow = s.ow();
        if (dw.length == 0 || oh * ow == 0 || s.n() == 0) return new Tensor(Storage.wrap(dw), ws, ws.contiguousStrides(), 0);
        Plan plan = Plan.of(s);
        int m = s.og(), nt = plan.taps().length, hw = s.h() * s.w(), plane = oh * ow, rs = plan.pad().rowStride();
        par.forRange(s.c(), 1, (from, to) -> {
            // per (o, t) a vector of lane-wise partial sums over the images, summed across its lanes once at the end
            float[] pp = VectorConv.Scratch.get().floats(2, plan.planeFloats()), partial = new float[m * nt * L];
            for (int c = from; c < to; c++) {
                java.util.Arrays.fill(partial, 0f);
                for (int n = 0; n < s.n(); n++) {
                    plan.pad().fill(x, (n * s.c() + c) * hw, pp);
                    for (int k = 0; k < m; k++) {
                        int go = ((n * s.c() + c) * m + k) * plane;
                        for (int t = 0; t < nt; t++) {
                            // each row's products in a register of its own, added to the tap's partial sums
                            // (the loops are written out here: a FloatVector passed to a helper C2 did not inline was boxed)
                            FloatVector acc = FloatVector.fromArray(S, partial, (k * nt + t) * L);
                            for (int i = 0; i < oh; i++) {
                                int run = plan.taps()[t] + i * rs, gi = go + i * ow, j = 0;
                                FloatVector row = FloatVector.zero(S);
                                for (; j + L <= ow; j += L) row = FloatVector.fromArray(S, g, gi + j).fma(FloatVector.fromArray(S, pp, run + j), row);
                                if (j < ow) { // dy read only inside its row; the run's lanes past it (other pixels) are left out
                                    VectorMask<Float> valid = S.indexInRange(j, ow); // made here: a mask passed in or captured was not unboxed by C2
                                    row = row.add(FloatVector.fromArray(S, g, gi + j, valid).mul(FloatVector.fromArray(S, pp, run + j)), valid);
                                }
                                acc = acc.add(row);
                            }
                            acc.intoArray(partial, (k * nt + t) * L);
                        }
                    }
                }
                for (int kt = 0; kt < m * nt; kt++) {
                    float sum = 0;
                    for (int l = 0; l < L; l++) sum += partial[kt * L + l];                  // the lanes in a fixed order
                    dw[c * m * nt + kt] = sum;
                }
            }
        });
        return new Tensor(Storage.wrap(dw), ws, ws.contiguousStrides(), 0);
    }
}
