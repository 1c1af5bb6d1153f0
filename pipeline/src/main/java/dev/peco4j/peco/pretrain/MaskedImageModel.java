package dev.peco4j.peco.pretrain;

import dev.peco4j.nn.Init;
import dev.peco4j.nn.Linear;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/**
 * BEiT's VisionTransformerForMaskedImageModeling: the ViT of {@link VisionTransformer} (BEiT blocks,
 * [CLS], an optional absolute position embedding, one relative position bias shared by all blocks,
 * LayerScale, drop path, the final norm) with a learnable {@code mask_token} that replaces the patch
 * embedding at every masked position, and {@code lm_head} (D → K) applied to the masked positions
 * only. Parameter names are BEiT's, so its state dicts load as they are.
 *
 * <p>Letters: B batch, N patches, D width, K outputs per patch (the tokenizer's codebook size, or
 * P²·C pixel values for the pixel target), M masked positions of the batch.
 *
 * <pre>{@code
 * MaskedImageModel m = new MaskedImageModel(gen, MaskedImageModel.Config.of(vit, 256));
 * Tensor logits = m.forward(x, mask);   // x (B, C, H, W), mask (B, N) bool → (M, K), batch-major then row-major
 * }</pre>
 *
 * <p>Init is BEiT's pre-training init: trunc_normal(0.02) truncated at ±1 std (its helper passes
 * a = −std, b = std) for linear and conv weights, cls_token, mask_token, pos_embed and lm_head; zero
 * biases; the relative position bias table zero; attn.proj and mlp.fc2 of block l divided by √(2l).
 */
public final class MaskedImageModel extends VisionTransformer {
    /** vit: the backbone (no head, the cls token pooled so that the final norm is {@code norm}); vocab: K. */
    public record Config(VisionTransformer.Config vit, int vocab) {
        public Config {
            if (vocab < 1) throw new IllegalArgumentException("MIM: the head needs at least 1 output, got " + vocab);
            if (vit.numClasses() != 0 || vit.pool() != Pool.TOKEN) {
                throw new IllegalArgumentException("MIM: the backbone must have no classifier head and the final norm (pool TOKEN), got "
                        + vit.numClasses() + " classes, pool " + vit.pool());
            }
        }

        /** The MIM model of a ViT config: no classifier head, the cls token pooled (so the final norm is {@code norm}); the rest as given. */
        public static Config of(VisionTransformer.Config vit, int vocab) {
            return new Config(vit.withNumClasses(0).withPool(Pool.TOKEN), vocab);
        }

        /**
         * BEiT pre-training presets by BEiT's names: {@code beit_base_patch16_224_8k_vocab} and
         * {@code beit_large_patch16_224_8k_vocab} (BEiT's), {@code beit_small_patch16_224_8k_vocab}
         * (ViT-S: 384 wide, 12 deep, 6 heads) and {@code beit_huge_patch14_224_8k_vocab} (ViT-H/14: 1280, 32,
         * 16; PeCo's, not in BEiT's code). All: shared relative position bias, no absolute position
         * embedding, drop path 0.1, and LayerScale 0.1 (base, small) or 1e-5 (large, huge): the values BEiT's
         * pre-training commands pass (in BEiT they are command-line options, as {@code --layer-scale} and
         * {@code --drop-path} are here).
         */
        public static Config preset(String name) {
            return switch (name) {
                case "beit_small_patch16_224_8k_vocab" -> beit(16, 384, 12, 6, 0.1);
                case "beit_base_patch16_224_8k_vocab" -> beit(16, 768, 12, 12, 0.1);
                case "beit_large_patch16_224_8k_vocab" -> beit(16, 1024, 24, 16, 1e-5);
                case "beit_huge_patch14_224_8k_vocab" -> beit(14, 1280, 32, 16, 1e-5);
                default -> throw new IllegalArgumentException("MIM: unknown preset '" + name + "'; known: " + PRESETS);
            };
        }

        public static final java.util.List<String> PRESETS = java.util.List.of("beit_small_patch16_224_8k_vocab", "beit_base_patch16_224_8k_vocab",
                "beit_large_patch16_224_8k_vocab", "beit_huge_patch14_224_8k_vocab");

        private static Config beit(int patch, int width, int depth, int heads, double layerScale) {
            return new Config(pretraining(VisionTransformer.Config.of(224, patch, width, depth, heads), 0.1, layerScale), 8192);
        }

        /**
         * Small MIM backbones for the small tokenizers' grids (an f-4 tokenizer on 28 px gives 7×7 codes,
         * so patch 4 on 28 px): "tiny" 96 wide, 4 deep, 4 heads, MLP ratio 2 (the size of the MoCo v3 net);
         * "small" 128 wide, 6 deep, 4 heads, MLP ratio 4 (peco-spec §8.3).
         */
        public static Config small(String size, int imgSize, int patchSize, int inChans, int vocab) {
            VisionTransformer.Config v = switch (size) {
                case "tiny" -> VisionTransformer.Config.of(imgSize, patchSize, 96, 4, 4).withMlpRatio(2);
                case "small" -> VisionTransformer.Config.of(imgSize, patchSize, 128, 6, 4);
                default -> throw new IllegalArgumentException("MIM: unknown small model '" + size + "' (tiny or small)");
            };
            return new Config(pretraining(v.withInChans(inChans), 0.1, 0.1), vocab);
        }

        /** BEiT pre-training's backbone settings: shared relative position bias, no absolute position embedding, no head, the final norm. */
        public static VisionTransformer.Config pretraining(VisionTransformer.Config v, double dropPath, double layerScale) {
            return v.withNumClasses(0).withPool(Pool.TOKEN).withPosEmbed(PosEmbed.NONE).withRelPos(RelPos.SHARED).withDropPath(dropPath)
                    .withLayerScaleInit(layerScale);
        }
    }

    public final Config mimConfig;
    /** mask_token (1, 1, D). */
    public final Tensor maskToken;
    public final Linear lmHead;

    public MaskedImageModel(Generator gen, Config c) {
        super(gen, c.vit());
        this.mimConfig = c;
        this.maskToken = parameter("mask_token", Tensor.zeros(DType.FLOAT32, 1, 1, c.vit().embedDim()));
        this.lmHead = child("lm_head", new Linear(gen, c.vit().embedDim(), c.vocab()));
        Init.beitTruncNormal(patchEmbed.weight, gen, 0.02);                           // BEiT's pre-training init covers the conv too
        Init.zeros(patchEmbed.bias);
        Init.beitTruncNormal(maskToken, gen, 0.02);
        Init.beitTruncNormal(lmHead.weight, gen, 0.02);
        Init.zeros(lmHead.bias);
    }

    /** Outputs (M, K) at the masked positions (mask (B, N), bool), in the order of {@code x[mask]}: batch-major, then row-major. */
    public Tensor forward(Tensor x, Tensor mask) {
        Tensor tokens = forwardFeatures(x, mask, maskToken);                         // (B, N+1, D) after the final norm
        return lmHead.forward(tokens.narrow(1, 1, config.numPatches()).maskedRows(mask));
    }

    /** BEiT pre-training's no-weight-decay rule: 1-d parameters, biases, pos_embed and cls_token (mask_token and the relative table do decay). */
    @Override
    public boolean noWeightDecay(String name, Tensor p) {
        return super.noWeightDecay(name, p) && !name.endsWith("relative_position_bias_table");
    }

    /** Parameters of the backbone: all but lm_head (what BEiT's parameter counts quote). */
    public long backboneParameterCount() {
        return parameterCount() - lmHead.parameterCount();
    }
}
