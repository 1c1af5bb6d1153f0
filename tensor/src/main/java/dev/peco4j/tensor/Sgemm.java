package dev.peco4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM on the Vector API: C (M×N) = A (M×K) · B (K×N), optionally added to C.
 * A and B are read through strides, so all four transpose combinations cost nothing extra.
 *
 * <p>Goto/BLIS structure: B is packed in KC×NR strips (k-major), A in MR×KC strips; a register-tiled
 * micro-kernel computes an MR×NR tile with MR·2 vector accumulators (6 × 2 on AVX2: 12 of 16
 * registers). NR = 2 vector lengths, so the code is generic over the species (256-bit AVX2 gives
 * NR = 16, 512-bit 32, 128-bit NEON 8). Blocking: KC keeps a B strip in L1, MC an A block in L2.
 *
 * <p>Why the tile goes to a buffer: when the micro-kernel itself loads C to add to it, C2 hoists those
 * loads above the k-loop and spills accumulators (measured 35 → 23 GFLOP/s); accumulating from zero,
 * storing the tile to a small buffer and adding it to C in a separate loop avoids that.
 *
 * <p>Threads take whole MC blocks of rows; every C element is summed over k in the same order
 * whatever the thread count, so results are bit-identical for 1, 2 or 3 threads.
 */
final class Sgemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final int MR = 6, NR = 2 * L;
    static final int KC = 256, MC = 72, NC = 4096;

    private Sgemm() {}

    /** A view of a float matrix: element (i, j) at data[off + i·rs + j·cs]. */
    record Mat(float[] data, int off, int rs, int cs) {
        float at(int i, int j) {
            return data[off + i * rs + j * cs];
        }
    }

    /** C = A·B (accumulate: C += A·B); C is row-major with row stride ldc. */
    static void gemm(int m, int n, int k, Mat a, Mat b, float[] c, int cOff, int ldc, boolean accumulate, Parallel par) {
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        int mBlocks = (m + MC - 1) / MC;
        float[] bp = new float[Math.min(NC, roundUp(n, NR)) * KC];
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                packB(b, pc, kc, jc, nc, bp);
                boolean add = accumulate || pc > 0;
                int jc0 = jc, pc0 = pc;
                par.forRange(mBlocks, 1, (from, to) -> {
                    float[] ap = new float[MC * KC];
                    float[] tile = new float[MR * NR];
                    for (int blk = from; blk < to; blk++) {
                        int ic = blk * MC, mc = Math.min(MC, m - ic);
                        packA(a, ic, mc, pc0, kc, ap);
                        macroKernel(mc, nc, kc, ap, bp, c, cOff + ic * ldc + jc0, ldc, add, tile);
                    }
                });
            }
        }
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    /** B[pc:pc+kc, jc:jc+nc] into strips of NR columns, k-major, zero-padded. */
    private static void packB(Mat b, int pc, int kc, int jc, int nc, float[] bp) {
        for (int js = 0; js < nc; js += NR) {
            int w = Math.min(NR, nc - js), base = js * kc;
            for (int p = 0; p < kc; p++) {
                int row = b.off() + (pc + p) * b.rs() + (jc + js) * b.cs(), dst = base + p * NR;
                if (b.cs() == 1) {
                    System.arraycopy(b.data(), row, bp, dst, w);
                } else {
                    for (int j = 0; j < w; j++) bp[dst + j] = b.data()[row + j * b.cs()];
                }
                for (int j = w; j < NR; j++) bp[dst + j] = 0f;
            }
        }
    }

    /** A[ic:ic+mc, pc:pc+kc] into strips of MR rows, k-major, zero-padded. */
    private static void packA(Mat a, int ic, int mc, int pc, int kc, float[] ap) {
        for (int is = 0; is < mc; is += MR) {
            int h = Math.min(MR, mc - is), base = is * kc;
            for (int r = 0; r < MR; r++) {
                if (r < h) {
                    int src = a.off() + (ic + is + r) * a.rs() + pc * a.cs();
                    for (int p = 0; p < kc; p++) ap[base + p * MR + r] = a.data()[src + p * a.cs()];
                } else {
                    for (int p = 0; p < kc; p++) ap[base + p * MR + r] = 0f;
                }
            }
        }
    }

    private static void macroKernel(int mc, int nc, int kc, float[] ap, float[] bp, float[] c, int cOff, int ldc,
                                    boolean add, float[] tile) {
        for (int js = 0; js < nc; js += NR) {
            int w = Math.min(NR, nc - js);
            for (int is = 0; is < mc; is += MR) {
                int h = Math.min(MR, mc - is);
                microKernel(ap, is * kc, bp, js * kc, kc, tile);
                int base = cOff + is * ldc + js;
                for (int r = 0; r < h; r++) {
                    int row = base + r * ldc, t = r * NR;
                    if (add) for (int j = 0; j < w; j++) c[row + j] += tile[t + j];
                    else System.arraycopy(tile, t, c, row, w);
                }
            }
        }
    }

    /** tile (MR×NR) = Ap strip (kc×MR) · Bp strip (kc×NR), 12 vector accumulators. */
    private static void microKernel(float[] ap, int a, float[] bp, int b, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bi = b + p * NR, ai = a + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
    }

    /** The scalar reference of the same contract, for tests and tiny products. */
    static void reference(int m, int n, int k, Mat a, Mat b, float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int p = 0; p < k; p++) s += a.at(i, p) * b.at(p, j);
                c[cOff + i * ldc + j] = accumulate ? c[cOff + i * ldc + j] + s : s;
            }
        }
    }
}
