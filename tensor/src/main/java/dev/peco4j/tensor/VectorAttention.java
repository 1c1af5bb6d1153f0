package dev.peco4j.tensor;

import java.util.Arrays;

/**
 * Float32 attention, blocked: QB queries against KB keys at a time, with an online softmax (running
 * row max m and sum l; when a block raises m, the sum and the output accumulator are rescaled by
 * e^(m_old − m_new)). Only the output and the row log-sum-exp are kept; backward recomputes each
 * block's probabilities P = e^(S − lse) (FlashAttention's scheme). Memory per thread: one QB×KB block,
 * whatever the sequence length.
 *
 * <p>Letters: B batch, H heads, N queries, M keys, D q/k dim, E v dim. q, k, v and dout are read in place
 * through their strides. One thread owns a whole (b, h) head — or, when a batch-shared bias needs its
 * gradient, a whole h over all b in order — so sums have a fixed order and results are bit-identical
 * for any thread count.
 */
final class VectorAttention {
    /**
     * Queries and keys per block. QB covers a whole ViT-B sequence (197 tokens), so each key block's
     * k and v are packed once per head, not once per query block, and no short last query block
     * remains (197 in blocks of 64 left one of 5): attention fwd+bwd B8 H12 N197 D64 on 1 thread took
     * 56.1–59.1 ms against 66.9–71.0 ms with QB = 64, in three interleaved runs (Compare, Zen 4).
     */
    static final int QB = 256, KB = 128;

    private VectorAttention() {}

    /** A (b, h) slice of a (B,H,T,C) tensor from row t0, as a GEMM operand (rows T, columns C). */
    private static Sgemm.Mat rows(Tensor t, int b, int h, int t0) {
        int[] s = t.strides();
        return new Sgemm.Mat(t.storage.f, t.offset() + b * s[0] + h * s[1] + t0 * s[2], s[2], s[3]);
    }

    /** The same slice transposed (columns T). */
    private static Sgemm.Mat cols(Tensor t, int b, int h, int t0) {
        int[] s = t.strides();
        return new Sgemm.Mat(t.storage.f, t.offset() + b * s[0] + h * s[1] + t0 * s[2], s[3], s[2]);
    }

    /** logits·scale + bias with masked keys at −∞, for rows [0, nb) × keys [k0, k0 + mb), in place in s. */
    private static void logits(float[] s, int nb, int mb, float scale, float[] bias, int biasRow0, int m, int[] mask,
                               int maskOff, int k0) {
        if (bias == null && mask == null) { // the plain case as one vector pass (the same product)
            VectorMath.scale(s, 0, scale, s, 0, nb * mb);
            return;
        }
        for (int r = 0; r < nb; r++) {
            int so = r * mb, bo = bias == null ? 0 : biasRow0 + r * m + k0;
            for (int j = 0; j < mb; j++) {
                float x = s[so + j] * scale;
                if (bias != null) x += bias[bo + j];
                if (mask != null && mask[maskOff + k0 + j] == 0) x = Float.NEGATIVE_INFINITY;
                s[so + j] = x;
            }
        }
    }

    static Tensor[] forward(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, double scaleD, Parallel par) {
        int bsz = q.size(0), heads = q.size(1), n = q.size(2), m = k.size(2), d = q.size(3), e = v.size(3);
        float scale = (float) scaleD;
        float[] bias32 = bias == null ? null : bias.contiguousData();
        int bb = bias == null ? 0 : bias.size(0);
        int[] mask = keyMask == null ? null : keyMask.toIntArray();
        float[] out = new float[bsz * heads * n * e], lse = new float[bsz * heads * n];
        par.forRange(bsz * heads, 1, (from, to) -> {
            float[] s = new float[QB * KB], acc = new float[QB * e], rowMax = new float[QB], rowSum = new float[QB];
            for (int task = from; task < to; task++) {
                int b = task / heads, h = task % heads;
                int biasHead = bias == null ? 0 : ((bb == 1 ? 0 : b) * heads + h) * n * m;
                for (int q0 = 0; q0 < n; q0 += QB) {
                    int nb = Math.min(QB, n - q0);
                    Arrays.fill(rowMax, Float.NEGATIVE_INFINITY);
                    Arrays.fill(rowSum, 0f);
                    Arrays.fill(acc, 0f);
                    for (int k0 = 0; k0 < m; k0 += KB) {
                        int mb = Math.min(KB, m - k0);
                        Sgemm.gemm(nb, mb, d, rows(q, b, h, q0), cols(k, b, h, k0), s, 0, mb, false, Parallel.SERIAL);  // S = q·kᵀ
                        logits(s, nb, mb, scale, bias32, biasHead + q0 * m, m, mask, b * m, k0);
                        for (int r = 0; r < nb; r++) {
                            int so = r * mb;
                            float blockMax = VectorMath.max(s, so, mb);
                            float mNew = Math.max(rowMax[r], blockMax);
                            if (mNew == Float.NEGATIVE_INFINITY) { // every key so far masked: P = 0
                                Arrays.fill(s, so, so + mb, 0f);
                                continue;
                            }
                            float blockSum = VectorMath.expShiftedSum(s, so, mNew, mb);                // P = e^(S − m)
                            if (rowMax[r] != mNew) { // a first block leaves acc and the sum at 0: nothing to rescale
                                if (rowMax[r] != Float.NEGATIVE_INFINITY) {
                                    float corr = (float) Math.exp(rowMax[r] - mNew);
                                    rowSum[r] *= corr;
                                    VectorMath.scale(acc, r * e, corr, acc, r * e, e);
                                }
                                rowMax[r] = mNew;
                            }
                            rowSum[r] += blockSum;
                        }
                        Sgemm.gemm(nb, e, mb, new Sgemm.Mat(s, 0, mb, 1), rows(v, b, h, k0), acc, 0, e, true, Parallel.SERIAL); // acc += P·v
                    }
                    for (int r = 0; r < nb; r++) {
                        int row = task * n + q0 + r;
                        float inv = rowSum[r] == 0 ? 0f : 1f / rowSum[r];
                        VectorMath.scale(acc, r * e, inv, out, row * e, e);
                        lse[row] = rowSum[r] == 0 ? Float.POSITIVE_INFINITY : rowMax[r] + (float) Math.log(rowSum[r]);
                    }
                }
            }
        });
        Shape os = Shape.of(bsz, heads, n, e), ls = Shape.of(bsz, heads, n);
        return new Tensor[] {new Tensor(Storage.wrap(out), os, os.contiguousStrides(), 0),
            new Tensor(Storage.wrap(lse), ls, ls.contiguousStrides(), 0)};
    }

    static Tensor[] backward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor bias, Tensor keyMask, Tensor out, Tensor lseT,
                             double scaleD, boolean biasGrad, Parallel par) {
        int bsz = q.size(0), heads = q.size(1), n = q.size(2), m = k.size(2), d = q.size(3), e = v.size(3);
        float scale = (float) scaleD;
        float[] bias32 = bias == null ? null : bias.contiguousData(), o = out.contiguousData(), lse = lseT.contiguousData();
        int bb = bias == null ? 0 : bias.size(0);
        int[] mask = keyMask == null ? null : keyMask.toIntArray();
        float[] dq = new float[bsz * heads * n * d], dk = new float[bsz * heads * m * d], dv = new float[bsz * heads * m * e];
        float[] db = biasGrad && bias != null ? new float[bias.numel()] : null;
        boolean shared = db != null && bb == 1 && bsz > 1;    // then one task owns head h for every b, in order
        int tasks = shared ? heads : bsz * heads;
        par.forRange(tasks, 1, (from, to) -> {
            float[] p = new float[QB * KB], ds = new float[QB * KB], rowDot = new float[QB];
            for (int t = from; t < to; t++) {
                for (int bi = 0; bi < (shared ? bsz : 1); bi++) {
                    int b = shared ? bi : t / heads, h = shared ? t : t % heads, head = b * heads + h;
                    int biasHead = bias == null ? 0 : ((bb == 1 ? 0 : b) * heads + h) * n * m;
                    for (int q0 = 0; q0 < n; q0 += QB) {
                        int nb = Math.min(QB, n - q0);
                        Sgemm.Mat dO = rows(dout, b, h, q0);
                        for (int r = 0; r < nb; r++) {                     // rowsum(dout ∘ out)
                            int oo = (head * n + q0 + r) * e;
                            if (dO.cs() == 1) {
                                rowDot[r] = VectorMath.dot(dO.data(), dO.off() + r * dO.rs(), o, oo, e);
                                continue;
                            }
                            float sum = 0;
                            for (int c = 0; c < e; c++) sum += dO.at(r, c) * o[oo + c];
                            rowDot[r] = sum;
                        }
                        for (int k0 = 0; k0 < m; k0 += KB) {
                            int mb = Math.min(KB, m - k0);
                            Sgemm.gemm(nb, mb, d, rows(q, b, h, q0), cols(k, b, h, k0), p, 0, mb, false, Parallel.SERIAL);
                            logits(p, nb, mb, scale, bias32, biasHead + q0 * m, m, mask, b * m, k0);
                            for (int r = 0; r < nb; r++) VectorMath.expShifted(p, r * mb, lse[head * n + q0 + r], mb); // P = e^(S − lse)
                            // dv += Pᵀ·dout
                            Sgemm.gemm(mb, e, nb, new Sgemm.Mat(p, 0, 1, mb), dO, dv, (head * m + k0) * e, e, true, Parallel.SERIAL);
                            // dP = dout·vᵀ, then dS = P ∘ (dP − rowDot)
                            Sgemm.gemm(nb, mb, e, dO, cols(v, b, h, k0), ds, 0, mb, false, Parallel.SERIAL);
                            for (int r = 0; r < nb; r++) {
                                VectorMath.subMul(ds, r * mb, rowDot[r], p, r * mb, mb);
                                if (db != null) VectorMath.addInto(ds, r * mb, db, biasHead + (q0 + r) * m + k0, mb);
                            }
                            // dq += dS·k, dk += dSᵀ·q (scaled at the end)
                            Sgemm.gemm(nb, d, mb, new Sgemm.Mat(ds, 0, mb, 1), rows(k, b, h, k0), dq, (head * n + q0) * d, d, true, Parallel.SERIAL);
                            Sgemm.gemm(mb, d, nb, new Sgemm.Mat(ds, 0, 1, mb), rows(q, b, h, q0), dk, (head * m + k0) * d, d, true, Parallel.SERIAL);
                        }
                    }
                    VectorMath.scale(dq, head * n * d, scale, dq, head * n * d, n * d);
                    VectorMath.scale(dk, head * m * d, scale, dk, head * m * d, m * d);
                }
            }
        });
        return new Tensor[] {out(q.shape(), dq), out(k.shape(), dk), out(v.shape(), dv), db == null ? null : out(bias.shape(), db)};
    }

    private static Tensor out(Shape s, float[] v) {
        Shape c = Shape.of(s.dims());
        return new Tensor(Storage.wrap(v), c, c.contiguousStrides(), 0);
    }
}
