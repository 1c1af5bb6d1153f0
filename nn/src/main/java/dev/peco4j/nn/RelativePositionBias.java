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
