package dev.peco4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM on the Vector API: C (M×N) = A (M×K) · B (K×N), optionally added to C.
 * A and B are read through strides, so all four transpose combinations cost nothing extra.
 *
 * <p>Goto/BLIS structure: B is packed in KC×NR strips (k-major), A in MR×KC strips; a register-tiled
 * micro-kernel computes an MR×NR tile with MR·2 vector accumulators. A is read in place instead
 * where that is cheaper than packing it ({@link #inPlace}). NR = 2 vector lengths, so the
 * code is generic over the species (256-bit AVX2 gives NR = 16, 512-bit 32, 128-bit NEON 8).
 * MR = 4 on AVX2, not the textbook 6: with 12 accumulators plus the B and A registers (15 of AVX2's
 * 16), C2 spills, and 6×2 measured 37 GFLOP/s against 68 for 4×2 (n = 1024, one thread). With
 * AVX-512's 32 registers MR = 8 (16 accumulators) halves the B loads per FMA: on a Zen 4 core 4×2
 * reached 73–75% of the measured FMA peak for n = 512…2048 and 8×2 reaches 78–84%.
 * Blocking (KC = 512, MC = 96) was chosen by measurement on the 2-core AVX2 machines.
 *
 * <p>Why a tile that adds to C goes to a buffer: when the micro-kernel itself loads C to add to it, C2
 * hoists those loads above the k-loop and spills accumulators (measured 35 → 23 GFLOP/s);
 * accumulating from zero, storing the tile to a small buffer and adding it to C in a separate loop
 * avoids that. A full tile of the first K block (nothing to add) is stored straight into C.
 *
 * <p>Threads pack strips of A and B, then take tasks of (MC-row block, range of NR-column strips);
 * every C element belongs to one task and is summed over k in the same order whatever the thread
 * count, so results are bit-identical for 1, 2 or 3 threads.
 */
final class Sgemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final int MR = L >= 16 ? 8 : 4, NR = 2 * L;
    static final int KC = 512, MC = 96, NC = 4096;
    /** The widest C for which a row-major A is read in place rather than packed ({@link #inPlace}). */
    static final int ROWS_IN_PLACE_MAX_N = 384;

    private Sgemm() {}

    /** A view of a float matrix: element (i, j) at data[off + i·rs + j·cs]. */
    record Mat(float[] data, int off, int rs, int cs) {
        float at(int i, int j) {
            return data[off + i * rs + j * cs];
        }
    }

    /**
     * Work done on each finished output tile (after its last K block), while it is in cache: C += bias
     * per column, then y = act(C) into a second array of C's layout (C keeps the pre-activation).
     */
    record Epilogue(float[] bias, UnaryOps.Fn act, float[] y) {}

    /** C = A·B (accumulate: C += A·B); C is row-major with row stride ldc. */
    static void gemm(int m, int n, int k, Mat a, Mat b, float[] c, int cOff, int ldc, boolean accumulate, Parallel par) {
        gemm(m, n, k, a, b, c, cOff, ldc, accumulate, par, null);
    }

    /** As above, then the epilogue (null: none) on every element of C. */
    static void gemm(int m, int n, int k, Mat a, Mat b, float[] c, int cOff, int ldc, boolean accumulate, Parallel par, Epilogue ep) {
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            for (int i = 0; i < m; i++) finish(ep, c, cOff + i * ldc, 0, n);
            return;
        }
        if (m < MR && b.cs() == 1) {
            skinny(m, n, k, a, b, c, cOff, ldc, accumulate, par, ep);
            return;
        }
        // row blocks of at most MC rows, as equal as MR allows: the threads' static shares of them then differ by
        // at most one block of the same size (m = 512 in blocks of 96 left one thread 288 rows and the other 224)
        int mPad = roundUp(m, MR), mBlocks = (m + MC - 1) / MC, mc = roundUp((m + mBlocks - 1) / mBlocks, MR);
        Workspace ws = WORKSPACE.get();
        float[] ap = ws.a(mPad * Math.min(k, KC));
        float[] bp = ws.b(roundUp(Math.min(NC, n), NR) * Math.min(k, KC));
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc), nStrips = (nc + NR - 1) / NR;
            // tasks: (row block, range of column strips); enough of them to keep every thread busy
            int jParts = Math.min(nStrips, Math.max(1, (2 * par.threads() + mBlocks - 1) / mBlocks));
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc), jc0 = jc, pc0 = pc;
                par.forRange(nStrips, 4, (from, to) -> packB(b, pc0, kc, jc0, nc, bp, from, to));
                // A in place: the micro-kernel reads full strips where they are; only the last, partial strip is packed
                Mat aIn = inPlace(a, kc, n) ? new Mat(a.data(), a.off() + pc * a.cs(), a.rs(), a.cs()) : null;
                int aFrom = aIn == null ? 0 : m / MR;
                par.forRange(mPad / MR - aFrom, 4, (from, to) -> packA(a, m, pc0, kc, ap, aFrom + from, aFrom + to));
                boolean add = accumulate || pc > 0;
                Epilogue last = pc + kc == k ? ep : null;
                par.forRange(mBlocks * jParts, 1, (from, to) -> {
                    float[] tile = new float[MR * NR];
                    for (int task = from; task < to; task++) {
                        int ic = (task / jParts) * mc, rows = Math.min(mc, m - ic), part = task % jParts;
                        if (rows <= 0) continue;                                           // equal blocks can number fewer than mBlocks
                        int s0 = (int) ((long) nStrips * part / jParts), s1 = (int) ((long) nStrips * (part + 1) / jParts);
                        int j0 = s0 * NR, j1 = Math.min(nc, s1 * NR);
                        macroKernel(ic, rows, j0, j1, kc, aIn, m, ap, bp, c, cOff + jc0, ldc, add, tile, last, jc0);
                        if (last != null && last.act() != null) activate(last, c, cOff + jc0, ldc, ic, rows, j0, j1);
                    }
                });
            }
        }
    }

    /** Columns of C one task of {@link #skinny} keeps in registers: 4 vectors. */
    private static final int SKINNY_W = 4 * L;

    /**
     * C = A·B for fewer than MR rows and a row-major B (a convolution with one output channel, a
     * linear layer on one token): packing would pad A to MR rows and copy all of B for under MR rows
     * of work. Instead each row's C segment of {@link #SKINNY_W} columns stays in registers while B's
     * rows stream through. Each K block is summed from zero in k order and then stored or added, as
     * the tiles do, so the bits are the tiled path's.
     */
    private static void skinny(int m, int n, int k, Mat a, Mat b, float[] c, int cOff, int ldc, boolean accumulate, Parallel par, Epilogue ep) {
        float[] ad = a.data(), bd = b.data();
        par.forRange((n + SKINNY_W - 1) / SKINNY_W, 1, (from, to) -> {
            for (int blk = from; blk < to; blk++) {
                int j0 = blk * SKINNY_W, j1 = Math.min(n, j0 + SKINNY_W);
                for (int i = 0; i < m; i++) {
                    int row = cOff + i * ldc;
                    for (int pc = 0; pc < k; pc += KC) {
                        int kc = Math.min(KC, k - pc), ai = a.off() + i * a.rs() + pc * a.cs(), acs = a.cs(), bi = b.off() + pc * b.rs(), brs = b.rs();
                        boolean add = accumulate || pc > 0;
                        int j = j0;
                        if (j1 - j == SKINNY_W) {
                            skinny4(ad, ai, acs, bd, bi + j, brs, kc, c, row + j, add);
                            j += SKINNY_W;
                        }
                        for (; j + L <= j1; j += L) skinny1(ad, ai, acs, bd, bi + j, brs, kc, c, row + j, add);
                        for (; j < j1; j++) {
                            float acc = 0f;
                            for (int p = 0; p < kc; p++) acc = Math.fma(ad[ai + p * acs], bd[bi + p * brs + j], acc);
                            c[row + j] = add ? c[row + j] + acc : acc;
                        }
                    }
                    finish(ep, c, row + j0, j0, j1 - j0);
                }
            }
        });
    }

    /** c[at, at + 4L) (+)= Σ_p a[ai + p·acs] · b[bi + p·brs, + 4L) over p &lt; kc. */
    private static void skinny4(float[] ad, int ai, int acs, float[] bd, int bi, int brs, int kc, float[] c, int at, boolean add) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++, ai += acs, bi += brs) {
            FloatVector x = FloatVector.broadcast(S, ad[ai]);
            c0 = x.fma(FloatVector.fromArray(S, bd, bi), c0);
            c1 = x.fma(FloatVector.fromArray(S, bd, bi + L), c1);
            c2 = x.fma(FloatVector.fromArray(S, bd, bi + 2 * L), c2);
            c3 = x.fma(FloatVector.fromArray(S, bd, bi + 3 * L), c3);
        }
        if (add) {
            c0 = FloatVector.fromArray(S, c, at).add(c0);
            c1 = FloatVector.fromArray(S, c, at + L).add(c1);
            c2 = FloatVector.fromArray(S, c, at + 2 * L).add(c2);
            c3 = FloatVector.fromArray(S, c, at + 3 * L).add(c3);
        }
        c0.intoArray(c, at);
        c1.intoArray(c, at + L);
        c2.intoArray(c, at + 2 * L);
        c3.intoArray(c, at + 3 * L);
    }

    /** The same for one vector. */
    private static void skinny1(float[] ad, int ai, int acs, float[] bd, int bi, int brs, int kc, float[] c, int at, boolean add) {
        FloatVector c0 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++, ai += acs, bi += brs) c0 = FloatVector.broadcast(S, ad[ai]).fma(FloatVector.fromArray(S, bd, bi), c0);
        if (add) c0 = FloatVector.fromArray(S, c, at).add(c0);
        c0.intoArray(c, at);
    }

    /** The epilogue (null: none) on a finished row segment: C[at, at + w) += bias[col, col + w), then y = act(C). */
    private static void finish(Epilogue ep, float[] c, int at, int col, int w) {
        if (ep == null) return;
        if (ep.bias() != null) addBias(ep.bias(), c, at, col, w);
        if (ep.act() != null) VectorMath.map(ep.act(), c, at, ep.y(), at, w);
    }

    /**
     * The calling thread's packing buffers, grown as needed and reused: small products (attention
     * blocks run thousands per step) would otherwise allocate and zero them on every call. Workers
     * of one call write into the caller's buffers only while the caller waits for them.
     */
    private static final class Workspace {
        private float[] a = new float[0], b = new float[0];

        float[] a(int n) {
            if (a.length < n) a = new float[n];
            return a;
        }

        float[] b(int n) {
            if (b.length < n) b = new float[n];
            return b;
        }
    }

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    /**
     * Whether the micro-kernel reads A's full strips in place instead of packing them.
     * <ul>
     * <li>A transposed operand (unit stride along its rows): the MR values of each k are adjacent, as in
     * a packed strip, so the packed kernel reads them at stride cs instead of MR — when a K block stays
     * within 1 MiB, so that large power-of-two strides do not thrash the cache sets.
     * <li>A row-major operand (unit stride along k) when C is narrow (n ≤ ROWS_IN_PLACE_MAX_N): the
     * transposing pack costs about 32/n of the product's time (one scalar copy per element against 32
     * flops per cycle), a third at n = 96. Measured on a Zen 4 core (6400 rows, k = 96…288): n = 96
     * went from 60 to 80–85 GFLOP/s and n = 288 from 72 to 84, while at n = 576…3072 the strided
     * kernel was 5–8% slower than packing.
     * </ul>
     */
    private static boolean inPlace(Mat a, int kc, int n) {
        return (a.rs() == 1 && (long) kc * a.cs() <= 1 << 18) || (a.cs() == 1 && n <= ROWS_IN_PLACE_MAX_N);
    }


    /** Strips [s0, s1) of B[pc:pc+kc, jc:jc+nc], NR columns each, k-major, zero-padded. */
    private static void packB(Mat b, int pc, int kc, int jc, int nc, float[] bp, int s0, int s1) {
        for (int st = s0; st < s1; st++) {
            int js = st * NR, w = Math.min(NR, nc - js), base = js * kc;
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

    /** Strips [s0, s1) of A[:, pc:pc+kc], MR rows each, k-major, rows past m zero. */
    private static void packA(Mat a, int m, int pc, int kc, float[] ap, int s0, int s1) {
        float[] d = a.data();
        int rs = a.rs(), cs = a.cs();
        for (int st = s0; st < s1; st++) {
            int base = st * MR * kc;
            if ((st + 1) * MR <= m) { // a full strip: k-outer, so the packed strip is written in order
                int src = a.off() + st * MR * rs + pc * cs;
                for (int p = 0; p < kc; p++, src += cs) {
                    int dst = base + p * MR;
                    for (int r = 0; r < MR; r++) ap[dst + r] = d[src + r * rs];
                }
                continue;
            }
            for (int r = 0; r < MR; r++) {
                int i = st * MR + r;
                if (i < m) {
                    int src = a.off() + i * a.rs() + pc * a.cs();
                    for (int p = 0; p < kc; p++) ap[base + p * MR + r] = a.data()[src + p * a.cs()];
                } else {
                    for (int p = 0; p < kc; p++) ap[base + p * MR + r] = 0f;
                }
            }
        }
    }

    /** Rows [ic, ic+mc) × columns [j0, j1) of this (jc, pc) block. */
    private static void macroKernel(int ic, int mc, int j0, int j1, int kc, Mat aIn, int m, float[] ap, float[] bp, float[] c,
                                    int cOff, int ldc, boolean add, float[] tile, Epilogue ep, int jc) {
        for (int js = j0; js < j1; js += NR) {
            int w = Math.min(NR, j1 - js);
            for (int is = 0; is < mc; is += MR) {
                int h = Math.min(MR, mc - is), i = ic + is, base = cOff + i * ldc + js;
                boolean direct = !add && h == MR && w == NR;   // a full tile of a first K block: stored straight into C
                float[] out = direct ? c : tile;
                int outOff = direct ? base : 0, ld = direct ? ldc : NR;
                if (aIn != null && i + MR <= m && aIn.cs() == 1 && aIn.rs() != 1) {
                    microKernelRows(aIn.data(), aIn.off() + i * aIn.rs(), aIn.rs(), bp, js * kc, kc, out, outOff, ld);
                } else if (aIn != null && i + MR <= m) {
                    microKernel(aIn.data(), aIn.off() + i, aIn.cs(), bp, js * kc, kc, out, outOff, ld);
                } else {
                    microKernel(ap, i * kc, MR, bp, js * kc, kc, out, outOff, ld);
                }
                for (int r = 0; r < h; r++) {
                    int row = base + r * ldc, t = r * NR;
                    if (direct) {
                        // the kernel wrote it
                    } else if (!add) {
                        System.arraycopy(tile, t, c, row, w);
                    } else if (w == NR) { // full tile row: two vector adds (a scalar loop here cost 15% of the time)
                        FloatVector.fromArray(S, c, row).add(FloatVector.fromArray(S, tile, t)).intoArray(c, row);
                        FloatVector.fromArray(S, c, row + L).add(FloatVector.fromArray(S, tile, t + L)).intoArray(c, row + L);
                    } else {
                        for (int j = 0; j < w; j++) c[row + j] += tile[t + j];
                    }
                    if (ep != null && ep.bias() != null) addBias(ep.bias(), c, row, jc + js, w);
                }
            }
        }
    }

    /**
     * y = act(C) on rows [ic, ic + mc) × columns [j0, j1) of a finished block, row by row. Applied per
     * tile row (32 elements) inside the macro-kernel, GELU cost 2.5x a separate pass over the same data.
     */
    private static void activate(Epilogue ep, float[] c, int cOff, int ldc, int ic, int mc, int j0, int j1) {
        for (int r = ic; r < ic + mc; r++) VectorMath.map(ep.act(), c, cOff + r * ldc + j0, ep.y(), cOff + r * ldc + j0, j1 - j0);
    }

    /** C[at, at + w) += bias[col, col + w). */
    private static void addBias(float[] bias, float[] c, int at, int col, int w) {
        int j = 0;
        if (w == NR) {
            FloatVector.fromArray(S, c, at).add(FloatVector.fromArray(S, bias, col)).intoArray(c, at);
            FloatVector.fromArray(S, c, at + L).add(FloatVector.fromArray(S, bias, col + L)).intoArray(c, at + L);
            j = NR;
        }
        for (; j < w; j++) c[at + j] += bias[col + j];
    }

    /**
     * An MR×NR tile = A strip (MR rows, kc columns; element (r, p) at ad[a + r + p·acs]) · Bp strip
     * (kc×NR), with 2·MR vector accumulators, stored to tile from t with row stride ld (the tile
     * buffer, or C itself). A packed strip has acs = MR; a transposed A read in place, its own stride.
     */
    private static void microKernel(float[] ad, int a, int acs, float[] bp, int b, int kc, float[] tile, int t, int ld) {
        if (MR == 8) {
            microKernel8(ad, a, acs, bp, b, kc, tile, t, ld);
            return;
        }
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector x;
        for (int p = 0; p < kc; p++) {
            int bi = b + p * NR, ai = a + p * acs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            x = FloatVector.broadcast(S, ad[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ad[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ad[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ad[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        c00.intoArray(tile, t);
        c01.intoArray(tile, t + L);
        c10.intoArray(tile, t + ld);
        c11.intoArray(tile, t + ld + L);
        c20.intoArray(tile, t + 2 * ld);
        c21.intoArray(tile, t + 2 * ld + L);
        c30.intoArray(tile, t + 3 * ld);
        c31.intoArray(tile, t + 3 * ld + L);
    }

    /** The 8-row tile of 512-bit vectors: 16 accumulators of AVX-512's 32 registers. */
    private static void microKernel8(float[] ad, int a, int acs, float[] bp, int b, int kc, float[] tile, int t, int ld) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S), c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector x;
        for (int p = 0; p < kc; p++) {
            int bi = b + p * NR, ai = a + p * acs;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            x = FloatVector.broadcast(S, ad[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ad[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ad[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ad[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ad[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ad[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ad[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ad[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        c00.intoArray(tile, t);
        c01.intoArray(tile, t + L);
        c10.intoArray(tile, t + ld);
        c11.intoArray(tile, t + ld + L);
        c20.intoArray(tile, t + 2 * ld);
        c21.intoArray(tile, t + 2 * ld + L);
        c30.intoArray(tile, t + 3 * ld);
        c31.intoArray(tile, t + 3 * ld + L);
        c40.intoArray(tile, t + 4 * ld);
        c41.intoArray(tile, t + 4 * ld + L);
        c50.intoArray(tile, t + 5 * ld);
        c51.intoArray(tile, t + 5 * ld + L);
        c60.intoArray(tile, t + 6 * ld);
        c61.intoArray(tile, t + 6 * ld + L);
        c70.intoArray(tile, t + 7 * ld);
        c71.intoArray(tile, t + 7 * ld + L);
    }

    /**
     * The micro-kernel on a row-major A read in place: row r of the strip at ad[a + r·rs], unit stride
     * along k (MR = 8 only; the 4-row AVX2 case loops over its rows' offsets the same way).
     */
    private static void microKernelRows(float[] ad, int a, int rs, float[] bp, int b, int kc, float[] tile, int t, int ld) {
        if (MR != 8) {
            microKernelRows4(ad, a, rs, bp, b, kc, tile, t, ld);
            return;
        }
        int a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs, a4 = a + 4 * rs, a5 = a + 5 * rs, a6 = a + 6 * rs, a7 = a + 7 * rs;
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S), c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector x;
        for (int p = 0; p < kc; p++) {
            int bi = b + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            x = FloatVector.broadcast(S, ad[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ad[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ad[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ad[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ad[a4 + p]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ad[a5 + p]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ad[a6 + p]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ad[a7 + p]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        c00.intoArray(tile, t);
        c01.intoArray(tile, t + L);
        c10.intoArray(tile, t + ld);
        c11.intoArray(tile, t + ld + L);
        c20.intoArray(tile, t + 2 * ld);
        c21.intoArray(tile, t + 2 * ld + L);
        c30.intoArray(tile, t + 3 * ld);
        c31.intoArray(tile, t + 3 * ld + L);
        c40.intoArray(tile, t + 4 * ld);
        c41.intoArray(tile, t + 4 * ld + L);
        c50.intoArray(tile, t + 5 * ld);
        c51.intoArray(tile, t + 5 * ld + L);
        c60.intoArray(tile, t + 6 * ld);
        c61.intoArray(tile, t + 6 * ld + L);
        c70.intoArray(tile, t + 7 * ld);
        c71.intoArray(tile, t + 7 * ld + L);
    }

    private static void microKernelRows4(float[] ad, int a, int rs, float[] bp, int b, int kc, float[] tile, int t, int ld) {
        int a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs;
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector x;
        for (int p = 0; p < kc; p++) {
            int bi = b + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            x = FloatVector.broadcast(S, ad[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ad[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ad[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ad[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        c00.intoArray(tile, t);
        c01.intoArray(tile, t + L);
        c10.intoArray(tile, t + ld);
        c11.intoArray(tile, t + ld + L);
        c20.intoArray(tile, t + 2 * ld);
        c21.intoArray(tile, t + 2 * ld + L);
        c30.intoArray(tile, t + 3 * ld);
        c31.intoArray(tile, t + 3 * ld + L);
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
