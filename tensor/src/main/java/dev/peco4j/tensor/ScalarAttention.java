package dev.peco4j.tensor;

/**
 * Reference attention in double, written out from the definition (no blocking): for each (b, h),
 * S = q·kᵀ·scale + bias with masked keys at −∞, P = softmax(S), out = P·v; backward
 * dv = Pᵀ·dout, dP = dout·vᵀ, dS = P ∘ (dP − rowsum(dout ∘ out)), dq = dS·k·scale, dk = dSᵀ·q·scale,
 * dbias = dS (summed over the batch when the bias is shared).
 */
final class ScalarAttention {
    private ScalarAttention() {}

    private record Dims(int b, int h, int n, int m, int d, int e, int bb) {}

    private static Dims dims(Tensor q, Tensor k, Tensor v, Tensor bias) {
        return new Dims(q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3), bias == null ? 0 : bias.size(0));
    }

    /** P (n×m) of head (b, h); row lse from probs when lse is null (forward), else P = exp(S − lse). */
    private static double[] probs(Dims s, double[] q, double[] k, double[] bias, int[] mask, int b, int h, double scale,
                                  double[] lse, boolean computeLse) {
        double[] p = new double[s.n() * s.m()];
        int qo = (b * s.h() + h) * s.n() * s.d(), ko = (b * s.h() + h) * s.m() * s.d();
        int bo = bias == null ? 0 : ((s.bb() == 1 ? 0 : b) * s.h() + h) * s.n() * s.m();
        for (int i = 0; i < s.n(); i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < s.m(); j++) {
                double x = Double.NEGATIVE_INFINITY;
                if (mask == null || mask[b * s.m() + j] != 0) {
                    x = 0;
                    for (int c = 0; c < s.d(); c++) x += q[qo + i * s.d() + c] * k[ko + j * s.d() + c];
                    x = x * scale + (bias == null ? 0 : bias[bo + i * s.m() + j]);
                }
                p[i * s.m() + j] = x;
                max = Math.max(max, x);
            }
            int li = (b * s.h() + h) * s.n() + i;
            if (computeLse) {
                double sum = 0;
                for (int j = 0; j < s.m(); j++) sum += max == Double.NEGATIVE_INFINITY ? 0 : Math.exp(p[i * s.m() + j] - max);
                lse[li] = sum == 0 ? Double.POSITIVE_INFINITY : max + Math.log(sum);
            }
            for (int j = 0; j < s.m(); j++) p[i * s.m() + j] = Math.exp(p[i * s.m() + j] - lse[li]);
        }
        return p;
    }

    static Tensor[] forward(Tensor qt, Tensor kt, Tensor vt, Tensor bt, Tensor maskT, double scale) {
        Dims s = dims(qt, kt, vt, bt);
        double[] q = qt.toDoubleArray(), k = kt.toDoubleArray(), v = vt.toDoubleArray(), bias = bt == null ? null : bt.toDoubleArray();
        int[] mask = maskT == null ? null : maskT.toIntArray();
        double[] out = new double[s.b() * s.h() * s.n() * s.e()], lse = new double[s.b() * s.h() * s.n()];
        for (int b = 0; b < s.b(); b++) {
            for (int h = 0; h < s.h(); h++) {
                double[] p = probs(s, q, k, bias, mask, b, h, scale, lse, true);
                int vo = (b * s.h() + h) * s.m() * s.e(), oo = (b * s.h() + h) * s.n() * s.e();
                for (int i = 0; i < s.n(); i++) {
                    for (int j = 0; j < s.m(); j++) {
                        double pij = p[i * s.m() + j];
                        for (int c = 0; c < s.e(); c++) out[oo + i * s.e() + c] += pij * v[vo + j * s.e() + c];
                    }
                }
            }
        }
        return new Tensor[] {Tensor.fromDoubles(qt.dtype(), Shape.of(s.b(), s.h(), s.n(), s.e()), out),
            Tensor.fromDoubles(qt.dtype(), Shape.of(s.b(), s.h(), s.n()), lse)};
    }

    static Tensor[] backward(Tensor gt, Tensor qt, Tensor kt, Tensor vt, Tensor bt, Tensor maskT, Tensor lseT, double scale,
                             boolean biasGrad) {
        Dims s = dims(qt, kt, vt, bt);
        double[] g = gt.toDoubleArray(), q = qt.toDoubleArray(), k = kt.toDoubleArray(), v = vt.toDoubleArray();
        double[] bias = bt == null ? null : bt.toDoubleArray(), lse = lseT.toDoubleArray();
        int[] mask = maskT == null ? null : maskT.toIntArray();
        double[] dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
        double[] db = biasGrad && bias != null ? new double[bias.length] : null;
        for (int b = 0; b < s.b(); b++) {
            for (int h = 0; h < s.h(); h++) {
                double[] p = probs(s, q, k, bias, mask, b, h, scale, lse, false);
                int qo = (b * s.h() + h) * s.n() * s.d(), ko = (b * s.h() + h) * s.m() * s.d();
                int vo = (b * s.h() + h) * s.m() * s.e(), go = (b * s.h() + h) * s.n() * s.e();
                int bo = ((s.bb() == 1 ? 0 : b) * s.h() + h) * s.n() * s.m();
                for (int i = 0; i < s.n(); i++) {
                    double[] dp = new double[s.m()];
                    double rowDot = 0;
                    for (int j = 0; j < s.m(); j++) {
                        double pij = p[i * s.m() + j];
                        for (int c = 0; c < s.e(); c++) {
                            dv[vo + j * s.e() + c] += pij * g[go + i * s.e() + c];
                            dp[j] += g[go + i * s.e() + c] * v[vo + j * s.e() + c];
                        }
                        rowDot += pij * dp[j]; // = rowsum(dout ∘ out)
                    }
                    for (int j = 0; j < s.m(); j++) {
                        double ds = p[i * s.m() + j] * (dp[j] - rowDot);
                        if (db != null) db[bo + i * s.m() + j] += ds;
                        for (int c = 0; c < s.d(); c++) {
                            dq[qo + i * s.d() + c] += ds * k[ko + j * s.d() + c] * scale;
                            dk[ko + j * s.d() + c] += ds * q[qo + i * s.d() + c] * scale;
                        }
                    }
                }
            }
        }
        return new Tensor[] {Tensor.fromDoubles(qt.dtype(), qt.shape(), dq), Tensor.fromDoubles(kt.dtype(), kt.shape(), dk),
            Tensor.fromDoubles(vt.dtype(), vt.shape(), dv), db == null ? null : Tensor.fromDoubles(bt.dtype(), bt.shape(), db)};
    }
}
