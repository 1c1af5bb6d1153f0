package dev.peco4j.nn;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;

/**
 * Multi-head self-attention in BEiT's form. Letters: B batch, N tokens, C channels, H heads, D head dim.
 * qkv is one linear C → 3·H·D; its bias is {@link QkvBias#QV} (BEiT: no bias in qkv, learnable
 * q_bias and v_bias, k has none), {@link QkvBias#QKV} (timm's ViT: qkv.bias) or none; logits are
 * scaled by D^−½, take an optional relative position bias (own table, and/or one passed in), softmax,
 * attention dropout, then proj (H·D → C) and its dropout. Names match BEiT's state dicts. Without
 * attention dropout the core is the fused {@link Functional#scaledDotProductAttention}.
 */
public final class Attention extends Module {
    /** Which of q, k, v get a bias: BEiT's q_bias and v_bias, timm's qkv.bias, or none. */
    public enum QkvBias { NONE, QV, QKV }

    /** headDim 0 means dim/heads; windowH/W 0 means no per-layer relative position table. */
    public record Config(int dim, int heads, QkvBias qkvBias, double attnDrop, double projDrop, int windowH, int windowW,
                         int headDim) {
        public Config {
            if (dim < 1 || heads < 1 || (headDim == 0 && dim % heads != 0)) {
                throw new IllegalArgumentException("Attention: dim " + dim + " is not divisible by " + heads + " heads");
            }
        }

        public static Config of(int dim, int heads) {
            return new Config(dim, heads, QkvBias.QV, 0, 0, 0, 0, 0);
        }

        public Config window(int h, int w) {
            return new Config(dim, heads, qkvBias, attnDrop, projDrop, h, w, headDim);
        }

        public Config qkvBias(QkvBias b) {
            return new Config(dim, heads, b, attnDrop, projDrop, windowH, windowW, headDim);
        }

        public Config dropout(double attn, double proj) {
            return new Config(dim, heads, qkvBias, attn, proj, windowH, windowW, headDim);
        }

        int d() {
            return headDim > 0 ? headDim : dim / heads;
        }
    }

    public final Config config;
    public final Tensor qBias, vBias;
    public final Tensor relativePositionBiasTable, relativePositionIndex;
    public final Linear qkv, proj;
    public final Dropout attnDrop, projDrop;
    private final double scale;

    public Attention(Generator gen, Config c) {
        this.config = c;
        int all = c.heads() * c.d();
        boolean qv = c.qkvBias() == QkvBias.QV;
        this.qBias = qv ? parameter("q_bias", Tensor.zeros(DType.FLOAT32, all)) : null;
        this.vBias = qv ? parameter("v_bias", Tensor.zeros(DType.FLOAT32, all)) : null;
        if (c.windowH() > 0) {
            relativePositionBiasTable = parameter("relative_position_bias_table",
                    Tensor.zeros(DType.FLOAT32, RelativePositionBias.tableSize(c.windowH(), c.windowW()), c.heads()));
            relativePositionIndex = buffer("relative_position_index", RelativePositionBias.index(c.windowH(), c.windowW()), true);
        } else {
            relativePositionBiasTable = null;
            relativePositionIndex = null;
        }
        this.qkv = child("qkv", new Linear(gen, c.dim(), 3 * all, c.qkvBias() == QkvBias.QKV));
        this.attnDrop = child("attn_drop", new Dropout(c.attnDrop()));
        this.proj = child("proj", new Linear(gen, all, c.dim()));
        this.projDrop = child("proj_drop", new Dropout(c.projDrop()));
        this.scale = 1 / Math.sqrt(c.d());
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, null);
    }

    /** x (B, N, C); sharedBias (H, N, N) or null. */
    public Tensor forward(Tensor x, Tensor sharedBias) {
        if (x.dim() != 3 || x.size(2) != config.dim()) {
            throw new IllegalArgumentException("Attention: expected (B, N, " + config.dim() + "), got " + x.shape());
        }
        int b = x.size(0), n = x.size(1), h = config.heads(), d = config.d();
        Tensor bias = qkv.bias;                                            // (3·H·D) with timm's qkv.bias
        if (qBias != null) bias = Tensor.cat(List.of(qBias, vBias.detach().zerosLike(), vBias), 0); // BEiT: k gets none
        Tensor qkvOut = Functional.linear(x, qkv.weight, bias)             // (B, N, 3·H·D)
                .reshape(b, n, 3, h, d).permute(2, 0, 3, 1, 4);            // (3, B, H, N, D)
        Tensor q = qkvOut.select(0, 0), k = qkvOut.select(0, 1), v = qkvOut.select(0, 2);
        Tensor rel = relativePositionBiasTable == null ? null
                : RelativePositionBias.gather(relativePositionBiasTable, relativePositionIndex);   // (H, N, N)
        Tensor relBias = rel == null ? sharedBias : sharedBias == null ? rel : rel.add(sharedBias);
        Tensor o;                                                           // (B, H, N, D)
        if (attnDrop.p > 0 && isTraining()) { // dropout on the probabilities: the unfused form
            Tensor attn = q.mul(scale).matmul(k.mT());                      // (B, H, N, N)
            if (relBias != null) attn = attn.add(relBias.unsqueeze(0));
            o = attnDrop.forward(attn.softmax(-1)).matmul(v);
        } else {                              // fused, blocked attention
            o = Functional.scaledDotProductAttention(q, k, v, relBias, null, scale);
        }
        Tensor out = o.transpose(1, 2).reshape(b, n, h * d);               // (B, N, H·D)
        return projDrop.forward(proj.forward(out));
    }

    @Override
    protected String extraRepr() {
        return "dim=" + config.dim() + ", heads=" + config.heads();
    }
}
