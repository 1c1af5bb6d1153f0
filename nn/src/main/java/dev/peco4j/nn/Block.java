package dev.peco4j.nn;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/**
 * The pre-norm transformer block of BEiT:
 * x ← x + DropPath(γ₁ ⊙ Attn(LN(x))); x ← x + DropPath(γ₂ ⊙ MLP(LN(x))).
 * γ₁, γ₂ are LayerScale vectors (absent when layerScaleInit is 0). Names match BEiT's state dicts
 * (and timm's ViT blocks with {@link Attention.QkvBias#QKV} and no LayerScale).
 */
public final class Block extends Module {
    public record Config(int dim, int heads, double mlpRatio, Attention.QkvBias qkvBias, double drop, double attnDrop, double dropPath,
                         double layerScaleInit, int windowH, int windowW, double normEps) {
        /** BEiT defaults: MLP ratio 4, q/v bias, no dropout, LN eps 1e-6, no per-layer relative table. */
        public static Config beit(int dim, int heads, double dropPath, double layerScaleInit) {
            return new Config(dim, heads, 4.0, Attention.QkvBias.QV, 0, 0, dropPath, layerScaleInit, 0, 0, 1e-6);
        }

        public Config window(int h, int w) {
            return new Config(dim, heads, mlpRatio, qkvBias, drop, attnDrop, dropPath, layerScaleInit, h, w, normEps);
        }
    }

    public final Config config;
    public final Tensor gamma1, gamma2;
    public final LayerNorm norm1, norm2;
    public final Attention attn;
    public final DropPath dropPath;
    public final Mlp mlp;

    public Block(Generator gen, Config c) {
        this.config = c;
        this.gamma1 = c.layerScaleInit() > 0 ? parameter("gamma_1", Tensor.full(DType.FLOAT32, c.layerScaleInit(), c.dim())) : null;
        this.gamma2 = c.layerScaleInit() > 0 ? parameter("gamma_2", Tensor.full(DType.FLOAT32, c.layerScaleInit(), c.dim())) : null;
        this.norm1 = child("norm1", new LayerNorm(c.dim(), c.normEps()));
        this.attn = child("attn", new Attention(gen, new Attention.Config(c.dim(), c.heads(), c.qkvBias(), c.attnDrop(), c.drop(),
                c.windowH(), c.windowW(), 0)));
        this.dropPath = child("drop_path", new DropPath(c.dropPath()));
        this.norm2 = child("norm2", new LayerNorm(c.dim(), c.normEps()));
        this.mlp = child("mlp", new Mlp(gen, c.dim(), (int) (c.dim() * c.mlpRatio()), c.dim(), Activations.gelu(), c.drop()));
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, null);
    }

    /** x (B, N, C); sharedBias (H, N, N) from a shared {@link RelativePositionBias}, or null. */
    public Tensor forward(Tensor x, Tensor sharedBias) {
        Tensor a = attn.forward(norm1.forward(x), sharedBias);
        x = x.add(dropPath.forward(gamma1 == null ? a : a.mul(gamma1)));
        Tensor m = mlp.forward(norm2.forward(x));
        return x.add(dropPath.forward(gamma2 == null ? m : m.mul(gamma2)));
    }
}
