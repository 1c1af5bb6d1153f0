package dev.peco4j.nn;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Tensor;

/**
 * BEiT's relative position bias for a Wh×Ww patch grid plus [CLS]: a learnable table of
 * T = (2Wh−1)(2Ww−1) + 3 rows × heads (zeros at init) and a fixed index (N+1)×(N+1), N = Wh·Ww.
 * Patch i=(y_i,x_i) to patch j: row ((y_i−y_j)+Wh−1)·(2Ww−1) + (x_i−x_j)+Ww−1; [CLS] row T−3,
 * [CLS] column T−2, [CLS]→[CLS] T−1. forward() gives the bias (heads, N+1, N+1).
 *
 * <p>Used as one module shared by all blocks (BEiT pre-training) or inside each {@link Attention}.
 */
public final class RelativePositionBias extends Module {
    public final int windowH, windowW, heads;
    public final Tensor table;
    public final Tensor index;

    public RelativePositionBias(int windowH, int windowW, int heads) {
        this.windowH = windowH;
        this.windowW = windowW;
        this.heads = heads;
        this.table = parameter("relative_position_bias_table", Tensor.zeros(DType.FLOAT32, tableSize(windowH, windowW), heads));
        this.index = buffer("relative_position_index", index(windowH, windowW), true);
    }

    public static int tableSize(int wh, int ww) {
        return (2 * wh - 1) * (2 * ww - 1) + 3;
    }

    /** The (N+1)×(N+1) int32 index of table rows. */
    public static Tensor index(int wh, int ww) {
        int n = wh * ww, t = tableSize(wh, ww), side = n + 1;
        int[] idx = new int[side * side];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                int dy = i / ww - j / ww + wh - 1, dx = i % ww - j % ww + ww - 1;
                idx[(i + 1) * side + j + 1] = dy * (2 * ww - 1) + dx;
            }
        }
        for (int j = 0; j < side; j++) idx[j] = t - 3;             // [CLS] attends to tokens
        for (int i = 0; i < side; i++) idx[i * side] = t - 2;      // tokens attend to [CLS]
        idx[0] = t - 1;                                             // [CLS] to [CLS]
        return Tensor.ofInts(idx, side, side);
    }

    /** The bias (heads, N+1, N+1) gathered from a table (T, heads) by an index. */
    static Tensor gather(Tensor table, Tensor index) {
        int side = index.size(0);
        return table.indexSelect(0, index.reshape(-1)).reshape(side, side, -1).permute(2, 0, 1);
    }

    /**
     * BEiT's resize of a table (T, heads) for a srcW×srcW window to a dstW×dstW one
     * (run_class_finetuning.py, for fine-tuning at another resolution). The (2·srcW−1)² offsets are
     * placed at 0, ±1, ±(1 + q), ±(1 + q + q²), … with q in [1.01, 1.5] found by bisection (to 1e-6)
     * so that 1 + q + … + q^(srcW−2) reaches dstW − 1; each head's grid is interpolated by a 2-D cubic
     * spline (scipy's interp2d(kind='cubic'): FITPACK's interpolating spline, i.e. not-a-knot, targets
     * outside the source offsets clamped to them) at the integer offsets −(dstW−1)..dstW−1; the 3
     * [CLS] rows are kept. The same size returns the table as it is. Computed in double.
     */
    public static Tensor resizeTable(Tensor table, int srcW, int dstW) {
        if (table.dim() != 2 || table.size(0) != tableSize(srcW, srcW)) {
            throw new IllegalArgumentException("relative position table " + table.shape() + " is not (" + tableSize(srcW, srcW) + ", heads) for a "
                    + srcW + "x" + srcW + " window");
        }
        if (srcW == dstW) return table;
        int src = 2 * srcW - 1, dst = 2 * dstW - 1, heads = table.size(1);
        if (src < 4) throw new IllegalArgumentException("relative position table: a " + srcW + "x" + srcW + " window is too small for a cubic spline (2W - 1 >= 4)");
        double lo = 1.01, hi = 1.5, q = lo;
        while (hi - lo > 1e-6) {
            q = (lo + hi) / 2;
            if ((1 - Math.pow(q, src / 2)) / (1 - q) > dst / 2) hi = q;
            else lo = q;
        }
        double[] xs = new double[src];
        double cur = 1;
        int half = src / 2;
        for (int i = 0; i < half; i++) {
            xs[half + 1 + i] = cur;
            xs[half - 1 - i] = -cur;
            cur += Math.pow(q, i + 1);
        }
        double[] targets = new double[dst];
        for (int i = 0; i < dst; i++) targets[i] = Math.min(Math.max(i - dst / 2, xs[0]), xs[src - 1]);
        double[][] wx = splineWeights(xs, targets);                                   // (dst, src): value at target = Σ w·value at xs
        double[] t = table.toDoubleArray(), out = new double[(dst * dst + 3) * heads];
        for (int h = 0; h < heads; h++) {
            for (int a = 0; a < dst; a++) {                                            // row (y) target
                for (int b = 0; b < dst; b++) {                                        // column (x) target
                    double v = 0;
                    for (int i = 0; i < src; i++) {
                        if (wx[a][i] == 0) continue;
                        double row = 0;
                        for (int j = 0; j < src; j++) row += wx[b][j] * t[(i * src + j) * heads + h];
                        v += wx[a][i] * row;
                    }
                    out[(a * dst + b) * heads + h] = v;
                }
            }
        }
        for (int r = 0; r < 3; r++) for (int h = 0; h < heads; h++) out[(dst * dst + r) * heads + h] = t[(src * src + r) * heads + h];
        return Tensor.of(out, dst * dst + 3, heads).to(table.dtype());
    }

    /**
     * The not-a-knot cubic spline through (xs, ·) as linear weights: row k gives the spline's value at
     * targets[k] as a combination of the values at xs (found by interpolating each unit vector).
     */
    static double[][] splineWeights(double[] xs, double[] targets) {
        int n = xs.length;
        double[][] w = new double[targets.length][n];
        for (int unit = 0; unit < n; unit++) {
            double[] y = new double[n];
            y[unit] = 1;
            double[] m = secondDerivatives(xs, y);
            for (int k = 0; k < targets.length; k++) {
                double x = targets[k];
                int i = 0;
                while (i < n - 2 && x > xs[i + 1]) i++;
                double h = xs[i + 1] - xs[i], a = (xs[i + 1] - x) / h, b = (x - xs[i]) / h;
                w[k][unit] = a * y[i] + b * y[i + 1] + ((a * a * a - a) * m[i] + (b * b * b - b) * m[i + 1]) * h * h / 6;
            }
        }
        return w;
    }

    /** The second derivatives of the not-a-knot cubic spline through (x, y): a dense solve (n is at most a few dozen). */
    private static double[] secondDerivatives(double[] x, double[] y) {
        int n = x.length;
        double[][] a = new double[n][n + 1];
        double[] h = new double[n - 1];
        for (int i = 0; i < n - 1; i++) h[i] = x[i + 1] - x[i];
        a[0][0] = h[1];                                                                // the third derivative continuous at x[1]
        a[0][1] = -(h[0] + h[1]);
        a[0][2] = h[0];
        for (int i = 1; i < n - 1; i++) {
            a[i][i - 1] = h[i - 1];
            a[i][i] = 2 * (h[i - 1] + h[i]);
            a[i][i + 1] = h[i];
            a[i][n] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1]);
        }
        a[n - 1][n - 3] = h[n - 2];                                                    // and at x[n-2]
        a[n - 1][n - 2] = -(h[n - 3] + h[n - 2]);
        a[n - 1][n - 1] = h[n - 3];
        for (int c = 0; c < n; c++) {                                                  // Gaussian elimination with partial pivoting
            int p = c;
            for (int r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
            double[] tmp = a[c];
            a[c] = a[p];
            a[p] = tmp;
            for (int r = c + 1; r < n; r++) {
                double f = a[r][c] / a[c][c];
                if (f == 0) continue;
                for (int k = c; k <= n; k++) a[r][k] -= f * a[c][k];
            }
        }
        double[] m = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double s = a[r][n];
            for (int k = r + 1; k < n; k++) s -= a[r][k] * m[k];
            m[r] = s / a[r][r];
        }
        return m;
    }

    @Override
    public Tensor forward(Tensor ignored) {
        return bias();
    }

    public Tensor bias() {
        return gather(table, index);
    }

    @Override
    protected String extraRepr() {
        return "window=" + windowH + "x" + windowW + ", heads=" + heads;
    }
}
