package dev.peco4j.tensor;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The nearest-code search of a vector quantizer, fused: each thread takes one band of rows of z and
 * walks the codes in chunks of CODES, one SGEMM per chunk into a band × CODES buffer, then per row
 * the distances (zz_i + ee_k) − 2·dot and their least, kept across chunks, while the buffer is in
 * cache. The N×K distance matrix of the unfused form (four N×K passes and as many arrays: 51 MB each
 * for BEiT-B's targets, 1568 patches × 8192 codes) is never made, and each band packs the codes once.
 *
 * <p>Same bits as the unfused ops: each product is one SGEMM element over D ≤ {@link Sgemm#KC} (one
 * K block: a fused-multiply-add chain in order from zero, whatever the blocking), and the distance is
 * the same three float operations. Chunks are taken in order and a later one wins only by a strictly
 * smaller distance, so ties go to the lowest index; a NaN wins as in argmin. Rows are independent,
 * so the result does not depend on the thread count.
 */
final class VectorNearest {
    private VectorNearest() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Codes per SGEMM. */
    static final int CODES = 1024;

    /** Whether the fused search gives the unfused form's bits: float32, and one SGEMM K block. */
    static boolean applies(Tensor z, Tensor codes, Tensor zz, Tensor ee) {
        for (Tensor t : new Tensor[] {z, codes, zz, ee}) if (t.dtype() != DType.FLOAT32) return false;
        return z.size(1) <= Sgemm.KC;
    }

    static Tensor nearestRows(Tensor z, Tensor codes, Tensor zz, Tensor ee, Parallel par) {
        int n = z.size(0), k = codes.size(0), d = z.size(1);
        int[] out = new int[n];
        float[] zzf = zz.contiguousData(), eef = ee.contiguousData();
        int[] zs = z.strides(), es = codes.strides();
        int band = Math.max(1, (n + par.threads() - 1) / par.threads()), bands = (n + band - 1) / band;
        par.forRange(bands, 1, (from, to) -> {
            float[] dots = new float[Math.min(band, n) * Math.min(CODES, k)], best = new float[band];
            boolean[] nan = new boolean[band];
            for (int b = from; b < to; b++) {
                int r0 = b * band, rows = Math.min(band, n - r0);
                Arrays.fill(best, Float.POSITIVE_INFINITY);
                Arrays.fill(nan, false);
                Sgemm.Mat zb = new Sgemm.Mat(z.storage.f, z.offset() + r0 * zs[0], zs[0], zs[1]);
                for (int c0 = 0; c0 < k; c0 += CODES) {
                    int cn = Math.min(CODES, k - c0);
                    Sgemm.Mat codesT = new Sgemm.Mat(codes.storage.f, codes.offset() + c0 * es[0], es[1], es[0]); // (D, cn)
                    Sgemm.gemm(rows, cn, d, zb, codesT, dots, 0, cn, false, Parallel.SERIAL);
                    for (int r = 0; r < rows; r++) {
                        if (nan[r]) continue;
                        int j = argminRow(dots, r * cn, cn, zzf[r0 + r], eef, c0);
                        float v = dots[r * cn + j];
                        if (v != v) {
                            nan[r] = true;
                            out[r0 + r] = c0 + j;
                        } else if (v < best[r]) {
                            best[r] = v;
                            out[r0 + r] = c0 + j;
                        }
                    }
                }
            }
        });
        return new Tensor(Storage.wrap(DType.INT32, out), Shape.of(n), Shape.of(n).contiguousStrides(), 0);
    }

    /**
     * The index j &lt; k of the least (zz + ee[e0 + j]) − 2·dots[off + j], the distances written over
     * dots: the first of equal ones, or the first NaN when there is one (argmin's rule, {@link VectorMath#argExtreme}).
     */
    private static int argminRow(float[] dots, int off, int k, float zz, float[] ee, int e0) {
        int j = 0, bound = S.loopBound(k);
        FloatVector zzv = FloatVector.broadcast(S, zz);
        for (; j < bound; j += S.length()) {
            zzv.add(FloatVector.fromArray(S, ee, e0 + j)).sub(FloatVector.fromArray(S, dots, off + j).mul(2f)).intoArray(dots, off + j);
        }
        for (; j < k; j++) dots[off + j] = (zz + ee[e0 + j]) - dots[off + j] * 2f;
        return VectorMath.argExtreme(dots, off, k, true);
    }
}
