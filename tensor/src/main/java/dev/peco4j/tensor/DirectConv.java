package dev.peco4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 stride-1 convolution (no dilation, one group, padding at most the kernel size − 1) without
 * im2col, all three directions. Letters: N batch, C input channels, O output channels, H×W the
 * image, KH×KW the kernel (T = KH·KW taps), Hp×Wp = (H + 2·padH)×(W + 2·padW) the zero-padded image,
 * OH×OW = (Hp − KH + 1)×(Wp − KW + 1) the output, Q = OH·Wp the output positions on the padded width.
 *
 * <p>The trick: on the padded image laid out row-major, tap (a, b) of output position q = i·Wp + j is
 * the flat position q + a·Wp + b, so for each tap the whole output is one shifted vector read of the
 * input: y_o[q] = Σ_c Σ_ab w[o, c, a, b] · xp_c[q + a·Wp + b]. Positions with j ≥ OW (Wp − OW of every
 * Wp) are computed and thrown away. Forward and input gradient (the same kernel with the flipped,
 * transposed weights and padding K − 1 − pad) keep 8 output channels (4 on AVX2) × 2 vectors of
 * positions in registers; the weight gradient keeps up to 9 taps of 1 or 2 output channels, summed
 * over every image's positions.
 *
 * <p>Why: the VQGAN's convolutions are almost all 3×3 same ones, and in the small tokenizer they are
 * narrow (16–32 channels on 28×28 … 7×7): im2col wrote 9 copies of every input, the GEMM then packed
 * them again, and the weight gradient transposed them once more, for GEMMs too thin to amortize that.
 * A convolution to 1–4 output channels (the discriminator's last, a decoder's RGB output) is the other
 * case: its GEMM has 1–4 rows, so im2col's copies of the input were nearly all of the time.
 * {@link VectorConv} keeps everything else.
 *
 * <p>Every output element is summed by one task in a fixed order (the weight gradient over images in
 * order), so the bits do not depend on the thread count.
 */
final class DirectConv {
    private DirectConv() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length(), SEG = 2 * L;

    /**
     * Inputs wider than this many channels × taps go to im2col + GEMM, whose packed tiles stay in cache.
     * Measured fwd+bwd on one Zen 4 core (GFLOP/s, direct against im2col): 32×16×28² 61 / 30, 32×32×14²
     * 60 / 42, 8×128×32² 84 / 78, 2×256×32² 76 / 81, 2×128×112² 59 / 65, 2×512×16² 49 / 76.
     */
    static final int MAX_ROWS = 64 * 9;

    /** Output channels up to which any input width goes direct: a GEMM of so few rows is mostly im2col's copies. */
    static final int NARROW_OUT = 4;

    /** Whether this convolution is one DirectConv computes. */
    static boolean applies(Shape x, Shape w, Conv2dParams p) {
        int kh = w.dim(2), kw = w.dim(3);
        return p.groups() == 1 && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1 && p.dilationW() == 1
                && p.padH() < kh && p.padW() < kw && x.dim(2) + 2 * p.padH() >= kh && x.dim(3) + 2 * p.padW() >= kw
                && x.dim(2) > 0 && x.dim(3) > 0 && kh * kw > 1 && (x.dim(1) * kh * kw <= MAX_ROWS || w.dim(0) <= NARROW_OUT);
    }

    /** The layout of one batch on the padded grid of a KH×KW kernel with padding (ph, pw). */
    private record Grid(int n, int h, int w, int kh, int kw, int ph, int pw) {
        int wp() { return w + 2 * pw; }
        int hp() { return h + 2 * ph; }
        int oh() { return hp() - kh + 1; }
        int ow() { return wp() - kw + 1; }
        int plane() { return hp() * wp(); }
        int taps() { return kh * kw; }
        /** Where tap t = a·KW + b reads, from the output position. */
        int tap(int t) { return t / kw * wp() + t % kw; }
        /** Output positions, rounded up to whole segments. */
        int q() { return (oh() * wp() + SEG - 1) / SEG * SEG; }
        /** Floats of one padded image of c channels: the planes, then slack for the last segment's reads. */
        int image(int c) { return c * plane() + SEG + (kh - 1) * wp() + kw - 1; }
        /** The tap offsets, padded with zeros to a multiple of 9 (the weight gradient's 9 accumulators). */
        int[] tapOffsets() {
            int[] off = new int[(taps() + 8) / 9 * 9];
            for (int t = 0; t < taps(); t++) off[t] = tap(t);
            return off;
        }
    }

    /** x (N, C, H, W) at xo copied into the padded layout, zero borders (each image image(C) floats apart). */
    private static float[] pad(Grid g, float[] x, int xo, int c, Parallel par) {
        float[] xp = new float[g.n() * g.image(c)];
        par.forRange(g.n() * c, 1, (from, to) -> {
            for (int nc = from; nc < to; nc++) {
                int n = nc / c, ch = nc % c, dst = n * g.image(c) + ch * g.plane() + g.ph() * g.wp() + g.pw(), src = xo + nc * g.h() * g.w();
                for (int i = 0; i < g.h(); i++) System.arraycopy(x, src + i * g.w(), xp, dst + i * g.wp(), g.w());
            }
        });
        return xp;
    }

    static Tensor forward(Tensor xt, Tensor wt, Conv2dParams p, Parallel par) {
        int n = xt.size(0), c = xt.size(1), h = xt.size(2), w = xt.size(3), o = wt.size(0), kh = wt.size(2), kw = wt.size(3), t = kh * kw;
        int ld = ldw(o);
        float[] wf = wt.contiguousData(), wT = new float[c * t * ld];                // wT[(c·T + tap)·ldw(O) + o]
        for (int oo = 0; oo < o; oo++) for (int cc = 0; cc < c; cc++) for (int k = 0; k < t; k++) wT[(cc * t + k) * ld + oo] = wf[(oo * c + cc) * t + k];
        return correlate(xt.contiguousData(), new Grid(n, h, w, kh, kw, p.padH(), p.padW()), c, wT, o, par);
    }

    /**
     * dx = the convolution of dy (N, O, OH, OW) with w flipped and transposed, w'[c, o, a, b] =
     * w[o, c, KH−1−a, KW−1−b], and padding KH−1−padH by KW−1−padW: its output is H×W.
     */
    static Tensor backwardInput(Tensor gt, Tensor wt, Shape xs, Conv2dParams p, Parallel par) {
        int n = xs.dim(0), c = xs.dim(1), o = wt.size(0), kh = wt.size(2), kw = wt.size(3), t = kh * kw;
        int ld = ldw(c);
        float[] wf = wt.contiguousData(), wT = new float[o * t * ld];                // wT[(o·T + tap)·ldw(C) + c]
        for (int oo = 0; oo < o; oo++) for (int cc = 0; cc < c; cc++) for (int k = 0; k < t; k++) wT[(oo * t + k) * ld + cc] = wf[(oo * c + cc) * t + t - 1 - k];
        return correlate(gt.contiguousData(), new Grid(n, gt.size(2), gt.size(3), kh, kw, kh - 1 - p.padH(), kw - 1 - p.padW()), o, wT, c, par);
    }

    /** The row length of the transposed weights for out channels: a multiple of 4, zeros past out, so the last channels take tile4 too. */
    private static int ldw(int out) {
        return (out + 3) / 4 * 4;
    }

    /** y (N, out, OH, OW) = Σ over in channels and taps of wT[(in·T + tap)·ldw(out) + o] · the tap's shifted padded input. */
    private static Tensor correlate(float[] x, Grid g, int in, float[] wT, int out, Parallel par) {
        int n = g.n(), oh = g.oh(), ow = g.ow();
        float[] xp = pad(g, x, 0, in, par), y = new float[n * out * oh * ow];
        int[] taps = g.tapOffsets();
        int ldw = ldw(out), ob = L >= 16 ? 8 : 4, blocks = (out + ob - 1) / ob;     // 8 channels × 2 vectors: 16 of AVX-512's 32 registers
        par.forRange(n * blocks, 1, (from, to) -> {
            float[] tile = new float[ob * SEG];
            for (int task = from; task < to; task++) {
                int img = task / blocks, o0 = (task % blocks) * ob, rows = Math.min(ob, out - o0), at = img * g.image(in);
                for (int seg = 0; seg < g.q(); seg += SEG) {
                    int r = 0;
                    if (rows == 8) {
                        tile8(xp, at + seg, in, g, taps, wT, ldw, o0, tile);
                        r = 8;
                    }
                    for (; r < rows; r += 4) tile4(xp, at + seg, in, g, taps, wT, ldw, o0 + r, tile, r * SEG); // past out: zero weights, rows not stored
                    for (r = 0; r < rows; r++) store(tile, r * SEG, seg, g, y, (img * out + o0 + r) * oh * ow);
                }
            }
        });
        return new Tensor(Storage.wrap(y), Shape.of(n, out, oh, ow), Shape.of(n, out, oh, ow).contiguousStrides(), 0);
    }

    /** tile[to + r·SEG …] = outputs o0 … o0+3 at the SEG positions from the image at at (its padded planes). */
    private static void tile4(float[] xp, int at, int in, Grid g, int[] taps, float[] wT, int ldw, int o0, float[] tile, int to) {
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a10 = FloatVector.zero(S), a11 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a30 = FloatVector.zero(S), a31 = FloatVector.zero(S);
        int nt = g.taps(), plane = g.plane();
        for (int c = 0; c < in; c++) {
            for (int t = 0; t < nt; t++) {
                int xi = at + c * plane + taps[t], wi = (c * nt + t) * ldw + o0;
                FloatVector x0 = FloatVector.fromArray(S, xp, xi), x1 = FloatVector.fromArray(S, xp, xi + L);
                FloatVector v = FloatVector.broadcast(S, wT[wi]);
                a00 = v.fma(x0, a00);
                a01 = v.fma(x1, a01);
                v = FloatVector.broadcast(S, wT[wi + 1]);
                a10 = v.fma(x0, a10);
                a11 = v.fma(x1, a11);
                v = FloatVector.broadcast(S, wT[wi + 2]);
                a20 = v.fma(x0, a20);
                a21 = v.fma(x1, a21);
                v = FloatVector.broadcast(S, wT[wi + 3]);
                a30 = v.fma(x0, a30);
                a31 = v.fma(x1, a31);
            }
        }
        a00.intoArray(tile, to);
        a01.intoArray(tile, to + L);
        a10.intoArray(tile, to + SEG);
        a11.intoArray(tile, to + SEG + L);
        a20.intoArray(tile, to + 2 * SEG);
        a21.intoArray(tile, to + 2 * SEG + L);
        a30.intoArray(tile, to + 3 * SEG);
        a31.intoArray(tile, to + 3 * SEG + L);
    }

    /** The segment's valid positions (row i < OH, column j < OW) of one tile row into y's plane at base, a row run at a time. */
    private static void store(float[] tile, int from, int seg, Grid g, float[] y, int base) {
        int wp = g.wp(), i = seg / wp, j = seg % wp;
        for (int k = 0; k < SEG && i < g.oh(); i++, j = 0) {
            int run = Math.min(SEG - k, wp - j), valid = Math.max(0, Math.min(run, g.ow() - j));
            if (valid > 0) System.arraycopy(tile, from + k, y, base + i * g.ow() + j, valid);
            k += run;
        }
    }

    /** tile[r·SEG …] for outputs o0 … o0+7 (AVX-512). */
    private static void tile8(float[] xp, int at, int in, Grid g, int[] taps, float[] wT, int ldw, int o0, float[] tile) {
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a10 = FloatVector.zero(S), a11 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a30 = FloatVector.zero(S), a31 = FloatVector.zero(S);
        FloatVector a40 = FloatVector.zero(S), a41 = FloatVector.zero(S), a50 = FloatVector.zero(S), a51 = FloatVector.zero(S);
        FloatVector a60 = FloatVector.zero(S), a61 = FloatVector.zero(S), a70 = FloatVector.zero(S), a71 = FloatVector.zero(S);
        int nt = g.taps(), plane = g.plane();
        for (int c = 0; c < in; c++) {
            for (int t = 0; t < nt; t++) {
                int xi = at + c * plane + taps[t], wi = (c * nt + t) * ldw + o0;
                FloatVector x0 = FloatVector.fromArray(S, xp, xi), x1 = FloatVector.fromArray(S, xp, xi + L);
                FloatVector v = FloatVector.broadcast(S, wT[wi]);
                a00 = v.fma(x0, a00);
                a01 = v.fma(x1, a01);
                v = FloatVector.broadcast(S, wT[wi + 1]);
                a10 = v.fma(x0, a10);
                a11 = v.fma(x1, a11);
                v = FloatVector.broadcast(S, wT[wi + 2]);
                a20 = v.fma(x0, a20);
                a21 = v.fma(x1, a21);
                v = FloatVector.broadcast(S, wT[wi + 3]);
                a30 = v.fma(x0, a30);
                a31 = v.fma(x1, a31);
                v = FloatVector.broadcast(S, wT[wi + 4]);
                a40 = v.fma(x0, a40);
                a41 = v.fma(x1, a41);
                v = FloatVector.broadcast(S, wT[wi + 5]);
                a50 = v.fma(x0, a50);
                a51 = v.fma(x1, a51);
                v = FloatVector.broadcast(S, wT[wi + 6]);
                a60 = v.fma(x0, a60);
                a61 = v.fma(x1, a61);
                v = FloatVector.broadcast(S, wT[wi + 7]);
                a70 = v.fma(x0, a70);
                a71 = v.fma(x1, a71);
            }
        }
        a00.intoArray(tile, 0);
        a01.intoArray(tile, L);
        a10.intoArray(tile, SEG);
        a11.intoArray(tile, SEG + L);
        a20.intoArray(tile, 2 * SEG);
        a21.intoArray(tile, 2 * SEG + L);
        a30.intoArray(tile, 3 * SEG);
        a31.intoArray(tile, 3 * SEG + L);
        a40.intoArray(tile, 4 * SEG);
        a41.intoArray(tile, 4 * SEG + L);
        a50.intoArray(tile, 5 * SEG);
        a51.intoArray(tile, 5 * SEG + L);
        a60.intoArray(tile, 6 * SEG);
        a61.intoArray(tile, 6 * SEG + L);
        a70.intoArray(tile, 7 * SEG);
        a71.intoArray(tile, 7 * SEG + L);
    }

    /**
     * dW[o, c, a, b] = Σ_n Σ_q dyq[n, o, q] · xp[n, c, q + a·Wp + b], with dy laid on the padded width
     * (zeros at j ≥ OW and past the last row), so every tap is one dot product over shifted vectors.
     * A task takes a pair of output channels (they share the input's loads: 18 accumulators; on
     * AVX2's 16 registers one channel and 9) and one input channel, its weights 9 taps at a time,
     * summed over every image's positions in the lanes and reduced once per weight.
     */
    static Tensor backwardWeight(Tensor gt, Tensor xt, Shape ws, Conv2dParams p, Parallel par) {
        int n = xt.size(0), c = xt.size(1), o = ws.dim(0), oh = gt.size(2), ow = gt.size(3);
        Grid g = new Grid(n, xt.size(2), xt.size(3), ws.dim(2), ws.dim(3), p.padH(), p.padW());
        float[] xp = pad(g, xt.contiguousData(), 0, c, par), dy = gt.contiguousData();
        int q = g.q();
        float[] dyq = new float[n * o * q];
        par.forRange(n * o, 1, (from, to) -> {
            for (int no = from; no < to; no++) {
                for (int i = 0; i < oh; i++) System.arraycopy(dy, no * oh * ow + i * ow, dyq, no * q + i * g.wp(), ow);
            }
        });
        float[] dw = new float[ws.numel()];
        int[] taps = g.tapOffsets();
        int ob = L >= 16 ? 2 : 1, blocks = (o + ob - 1) / ob;
        par.forRange(blocks * c, 1, (from, to) -> {                              // a task: one pair of output channels, one input channel
            float[] lanes = new float[18 * L];
            for (int task = from; task < to; task++) {
                int o0 = task / c * ob, cc = task % c;
                for (int t0 = 0; t0 < g.taps(); t0 += 9) {
                    if (ob == 2 && o0 + 1 < o) taps2(g, dyq, o, o0, xp, c, cc, taps, t0, dw, lanes);
                    else for (int oo = o0; oo < Math.min(o, o0 + ob); oo++) taps1(g, dyq, o, oo, xp, c, cc, taps, t0, dw, lanes);
                }
            }
        });
        return new Tensor(Storage.wrap(dw), ws, ws.contiguousStrides(), 0);
    }

    /** Taps t0 … t0+8 (those below T) of dW[oo, cc, ·, ·] over all images. */
    private static void taps1(Grid g, float[] d, int o, int oo, float[] x, int c, int cc, int[] taps, int t0, float[] dw, float[] lanes) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S), s4 = FloatVector.zero(S);
        FloatVector s5 = FloatVector.zero(S), s6 = FloatVector.zero(S), s7 = FloatVector.zero(S), s8 = FloatVector.zero(S);
        int q = g.q(), f0 = taps[t0], f1 = taps[t0 + 1], f2 = taps[t0 + 2], f3 = taps[t0 + 3], f4 = taps[t0 + 4];
        int f5 = taps[t0 + 5], f6 = taps[t0 + 6], f7 = taps[t0 + 7], f8 = taps[t0 + 8];
        for (int img = 0; img < g.n(); img++) {
            int dOff = (img * o + oo) * q, xOff = img * g.image(c) + cc * g.plane();
            for (int k = 0; k < q; k += L) {
                FloatVector dv = FloatVector.fromArray(S, d, dOff + k);
                int r = xOff + k;
                s0 = dv.fma(FloatVector.fromArray(S, x, r + f0), s0);
                s1 = dv.fma(FloatVector.fromArray(S, x, r + f1), s1);
                s2 = dv.fma(FloatVector.fromArray(S, x, r + f2), s2);
                s3 = dv.fma(FloatVector.fromArray(S, x, r + f3), s3);
                s4 = dv.fma(FloatVector.fromArray(S, x, r + f4), s4);
                s5 = dv.fma(FloatVector.fromArray(S, x, r + f5), s5);
                s6 = dv.fma(FloatVector.fromArray(S, x, r + f6), s6);
                s7 = dv.fma(FloatVector.fromArray(S, x, r + f7), s7);
                s8 = dv.fma(FloatVector.fromArray(S, x, r + f8), s8);
            }
        }
        s0.intoArray(lanes, 0);
        s1.intoArray(lanes, L);
        s2.intoArray(lanes, 2 * L);
        s3.intoArray(lanes, 3 * L);
        s4.intoArray(lanes, 4 * L);
        s5.intoArray(lanes, 5 * L);
        s6.intoArray(lanes, 6 * L);
        s7.intoArray(lanes, 7 * L);
        s8.intoArray(lanes, 8 * L);
        store9(dw, (oo * c + cc) * g.taps() + t0, Math.min(9, g.taps() - t0), lanes, 0);
    }

    /** The same for output channels o0 and o0 + 1, which share the input's 9 loads per vector. */
    private static void taps2(Grid g, float[] d, int o, int o0, float[] x, int c, int cc, int[] taps, int t0, float[] dw, float[] lanes) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S), s4 = FloatVector.zero(S);
        FloatVector s5 = FloatVector.zero(S), s6 = FloatVector.zero(S), s7 = FloatVector.zero(S), s8 = FloatVector.zero(S);
        FloatVector t0v = FloatVector.zero(S), t1 = FloatVector.zero(S), t2 = FloatVector.zero(S), t3 = FloatVector.zero(S), t4 = FloatVector.zero(S);
        FloatVector t5 = FloatVector.zero(S), t6 = FloatVector.zero(S), t7 = FloatVector.zero(S), t8 = FloatVector.zero(S);
        int q = g.q(), f0 = taps[t0], f1 = taps[t0 + 1], f2 = taps[t0 + 2], f3 = taps[t0 + 3], f4 = taps[t0 + 4];
        int f5 = taps[t0 + 5], f6 = taps[t0 + 6], f7 = taps[t0 + 7], f8 = taps[t0 + 8];
        for (int img = 0; img < g.n(); img++) {
            int dOff = (img * o + o0) * q, xOff = img * g.image(c) + cc * g.plane();
            for (int k = 0; k < q; k += L) {
                FloatVector d0 = FloatVector.fromArray(S, d, dOff + k), d1 = FloatVector.fromArray(S, d, dOff + q + k);
                int r = xOff + k;
                FloatVector xv = FloatVector.fromArray(S, x, r + f0);
                s0 = d0.fma(xv, s0);
                t0v = d1.fma(xv, t0v);
                xv = FloatVector.fromArray(S, x, r + f1);
                s1 = d0.fma(xv, s1);
                t1 = d1.fma(xv, t1);
                xv = FloatVector.fromArray(S, x, r + f2);
                s2 = d0.fma(xv, s2);
                t2 = d1.fma(xv, t2);
                xv = FloatVector.fromArray(S, x, r + f3);
                s3 = d0.fma(xv, s3);
                t3 = d1.fma(xv, t3);
                xv = FloatVector.fromArray(S, x, r + f4);
                s4 = d0.fma(xv, s4);
                t4 = d1.fma(xv, t4);
                xv = FloatVector.fromArray(S, x, r + f5);
                s5 = d0.fma(xv, s5);
                t5 = d1.fma(xv, t5);
                xv = FloatVector.fromArray(S, x, r + f6);
                s6 = d0.fma(xv, s6);
                t6 = d1.fma(xv, t6);
                xv = FloatVector.fromArray(S, x, r + f7);
                s7 = d0.fma(xv, s7);
                t7 = d1.fma(xv, t7);
                xv = FloatVector.fromArray(S, x, r + f8);
                s8 = d0.fma(xv, s8);
                t8 = d1.fma(xv, t8);
            }
        }
        s0.intoArray(lanes, 0);
        s1.intoArray(lanes, L);
        s2.intoArray(lanes, 2 * L);
        s3.intoArray(lanes, 3 * L);
        s4.intoArray(lanes, 4 * L);
        s5.intoArray(lanes, 5 * L);
        s6.intoArray(lanes, 6 * L);
        s7.intoArray(lanes, 7 * L);
        s8.intoArray(lanes, 8 * L);
        t0v.intoArray(lanes, 9 * L);
        t1.intoArray(lanes, 10 * L);
        t2.intoArray(lanes, 11 * L);
        t3.intoArray(lanes, 12 * L);
        t4.intoArray(lanes, 13 * L);
        t5.intoArray(lanes, 14 * L);
        t6.intoArray(lanes, 15 * L);
        t7.intoArray(lanes, 16 * L);
        t8.intoArray(lanes, 17 * L);
        int n = Math.min(9, g.taps() - t0);
        store9(dw, (o0 * c + cc) * g.taps() + t0, n, lanes, 0);
        store9(dw, ((o0 + 1) * c + cc) * g.taps() + t0, n, lanes, 9 * L);
    }

    /**
     * dw[at + t] = the lanes of accumulator t added in order (not reduceLanes, whose order is unspecified),
     * for the first n of 9 stored from lanes[from]. The accumulators come as an array: passed as
     * FloatVectors to a method C2 did not inline, they were boxed, and with them every vector of the
     * caller's loop (86 MB a call for 32×32×7×7, 3×3).
     */
    private static void store9(float[] dw, int at, int n, float[] lanes, int from) {
        for (int t = 0; t < n; t++) {
            float s = 0;
            for (int l = 0; l < L; l++) s += lanes[from + t * L + l];
            dw[at + t] = s;
        }
    }
}
