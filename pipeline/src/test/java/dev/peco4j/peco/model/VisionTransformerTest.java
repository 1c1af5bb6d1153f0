package dev.peco4j.peco.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.GradCheck;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class VisionTransformerTest {
    @Test
    void theSmallViTHasTimmNamesAndTheExpectedSize() {
        VisionTransformer vit = new VisionTransformer(new Generator(0), VisionTransformer.Config.small32(1, 10, 128, 4));
        var names = List.copyOf(vit.namedParameters().keySet());
        assertEquals(List.of("cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "blocks.0.norm1.weight"),
                names.subList(0, 5));
        assertTrue(names.contains("blocks.5.attn.q_bias") && names.contains("blocks.5.mlp.fc2.weight") && names.contains("fc_norm.weight")
                && names.contains("head.bias"), names.toString());
        // cls 128 + pos 65·128 + patch 16·128+128 + 6 blocks·(2·256 LN + 3·128² qkv + 2·128 q/v bias + 128²+128 proj
        //   + 128·256+256 + 256·128+128) + fc_norm 256 + head 1290
        long block = 512 + 3 * 128 * 128 + 256 + 128 * 128 + 128 + 128 * 256 + 256 + 256 * 128 + 128;
        assertEquals(128 + 65 * 128 + 16 * 128 + 128 + 6 * block + 256 + 1290, vit.parameterCount());
        Tensor logits = vit.forward(Tensor.randn(new Generator(1), 3, 1, 32, 32));
        assertEquals("[3, 10]", logits.shape().toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vit.forward(Tensor.zeros(2, 1, 28, 28)));
        assertEquals("ViT: input [2, 1, 28, 28] is not (B, 1, 32, 32)", e.getMessage());
    }

    @Test
    void everyParameterGetsAGradient() {
        VisionTransformer vit = new VisionTransformer(new Generator(0),
                VisionTransformer.Config.of(8, 4, 16, 2, 2).withInChans(2).withNumClasses(3).withMlpRatio(2.0).withLayerScaleInit(0.1)
                        .withRelPos(VisionTransformer.RelPos.SHARED));
        Tensor loss = Functional.crossEntropy(vit.forward(Tensor.randn(new Generator(2), 2, 2, 8, 8)), Tensor.ofInts(new int[] {0, 2}, 2), 0.1);
        loss.backward();
        vit.namedParameters().forEach((n, p) -> assertNotNull(p.grad(), n + " has a gradient"));
        assertTrue(vit.noWeightDecay("blocks.0.attn.q_bias", vit.blocks.get(0).attn.qBias));
        assertTrue(vit.noWeightDecay("cls_token", vit.clsToken));
    }

    @Test
    void gradientsMatchFiniteDifferencesInFloat64() {
        VisionTransformer vit = new VisionTransformer(new Generator(3),
                VisionTransformer.Config.of(4, 2, 8, 1, 2).withInChans(1).withNumClasses(3).withMlpRatio(2.0).withLayerScaleInit(0.1)
                        .withRelPos(VisionTransformer.RelPos.SHARED).withPool(VisionTransformer.Pool.AVG));
        vit.to(DType.FLOAT64);
        Tensor x = Tensor.randn(new Generator(4), 2, 1, 4, 4).to(DType.FLOAT64);
        Tensor y = Tensor.ofInts(new int[] {1, 2}, 2);
        List<Tensor> params = vit.parameters();
        GradCheck.Report r = GradCheck.check("vit", ins -> Functional.crossEntropy(vit.forward(x), y, 0.1),
                GradCheck.Options.defaults(5).withMode(GradCheck.Mode.FULL), params.toArray(Tensor[]::new));
        assertTrue(r.ops().contains("sdpa") && r.ops().contains("layer_norm") && r.ops().contains("conv2d"), r.ops().toString());
    }

    // ---------------------------------------------------------------- timm's forward_features / forward_head / forward_intermediates

    private static VisionTransformer tiny(VisionTransformer.Config c) {
        VisionTransformer vit = new VisionTransformer(new Generator(5), c);
        vit.eval();
        return vit;
    }

    @Test
    void featuresAreTokensAfterTheNormAndTheHeadPoolsThem() {
        VisionTransformer vit = tiny(VisionTransformer.Config.of(8, 2, 16, 3, 2).withInChans(1).withNumClasses(4));
        Tensor x = Tensor.randn(new Generator(6), 2, 1, 8, 8);
        Tensor tokens = vit.forwardFeatures(x);
        assertEquals("[2, 17, 16]", tokens.shape().toString());
        assertArrayEquals(vit.forward(x).toFloatArray(), vit.forwardHead(tokens, false).toFloatArray());
        assertArrayEquals(tokens.select(1, 0).toFloatArray(), vit.forwardHead(tokens, true).toFloatArray(), "pre-logits: the cls token");
        // the final norm is applied: each token has mean ~0 over D (the norm's weight is 1, bias 0 at init)
        float[] t = tokens.toFloatArray();
        double mean = 0;
        for (int k = 0; k < 16; k++) mean += t[k];
        assertEquals(0, mean / 16, 1e-5);
    }

    @Test
    void intermediatesMatchTheFullForwardAndStopAtTheLastBlockAsked() {
        VisionTransformer vit = tiny(VisionTransformer.Config.of(8, 2, 16, 4, 2).withInChans(1));
        Tensor x = Tensor.randn(new Generator(7), 2, 1, 8, 8);
        List<Tensor> all = vit.forwardIntermediates(x, new int[] {3, 0, -1}, true, true);
        assertEquals(3, all.size());
        assertArrayEquals(vit.forwardFeatures(x).toFloatArray(), all.get(0).toFloatArray(), "the last block, normalized = forward_features");
        assertArrayEquals(all.get(0).toFloatArray(), all.get(2).toFloatArray(), "index -1 is the last block");
        List<Tensor> raw = vit.forwardIntermediates(x, new int[] {0}, false, false);
        assertEquals("[2, 16, 16]", raw.get(0).shape().toString());
        Tensor expect = vit.blocks.get(0).forward(embedded(vit, x), null).narrow(1, 1, 16);
        assertArrayEquals(expect.toFloatArray(), raw.get(0).toFloatArray());

        // only blocks 0 and 1 run: the later blocks get no gradient
        vit.train(true);
        vit.forwardIntermediates(x, new int[] {1}, false, true).get(0).square().sum().backward();
        assertNotNull(vit.blocks.get(1).mlp.fc2.weight.grad());
        assertNull(vit.blocks.get(2).mlp.fc2.weight.grad());
        assertNull(vit.norm.weight.grad());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vit.forwardIntermediates(x, new int[] {4}, false, true));
        assertEquals("ViT: block index 4 is outside -4..3 (depth 4; negative counts from the end)", e.getMessage());
    }

    /** The input of the first block, built by hand: conv, [cls; patches], + pos_embed. */
    private static Tensor embedded(VisionTransformer vit, Tensor x) {
        Tensor t = vit.patchEmbed.forward(x).flatten(2, 3).transpose(1, 2);
        return Tensor.cat(List.of(vit.clsToken.expand(x.size(0), 1, vit.config.embedDim()), t), 1).add(vit.posEmbed);
    }

    @Test
    void sinCosPositionEmbeddingHasMoCoV3sLayoutAndIsNotTrained() {
        int h = 2, w = 3, d = 8;
        float[] pe = VisionTransformer.sinCosPositionEmbedding(h, w, d).toFloatArray();
        assertEquals((1 + h * w) * d, pe.length);
        for (int k = 0; k < d; k++) assertEquals(0f, pe[k], "the [CLS] row is zero");
        // torch.meshgrid(arange(w), arange(h)) indexes 'ij': patch m has i = m / h (the "w" quarter), j = m % h
        for (int m = 0; m < h * w; m++) {
            int i = m / h, j = m % h;
            for (int k = 0; k < 2; k++) {
                double omega = 1 / Math.pow(10000, k / 2.0);
                int row = (1 + m) * d;
                assertEquals(Math.sin(i * omega), pe[row + k], 1e-7);
                assertEquals(Math.cos(i * omega), pe[row + 2 + k], 1e-7);
                assertEquals(Math.sin(j * omega), pe[row + 4 + k], 1e-7);
                assertEquals(Math.cos(j * omega), pe[row + 6 + k], 1e-7);
            }
        }
        VisionTransformer vit = tiny(VisionTransformer.Config.of(8, 4, 8, 1, 2).withPosEmbed(VisionTransformer.PosEmbed.SINCOS));
        assertTrue(vit.stateDict().containsKey("pos_embed"), "saved under timm's name");
        assertFalse(vit.namedParameters().containsKey("pos_embed"), "a buffer: never trained");
        assertArrayEquals(VisionTransformer.sinCosPositionEmbedding(2, 2, 8).toFloatArray(), vit.posEmbed.toFloatArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VisionTransformer.Config.of(8, 4, 6, 1, 2).withPosEmbed(VisionTransformer.PosEmbed.SINCOS));
        assertEquals("ViT: the 2-D sin-cos position embedding needs a width divisible by 4, got 6", e.getMessage());
    }

    @Test
    void presetsAreReadable() {
        VisionTransformer.Config b = VisionTransformer.Config.base(224, 1000);
        assertEquals(List.of(224, 16, 768, 12, 12), List.of(b.imgSize(), b.patchSize(), b.embedDim(), b.depth(), b.heads()));
        assertEquals(VisionTransformer.PosEmbed.NONE, b.posEmbed());
        assertEquals(VisionTransformer.RelPos.PER_BLOCK, b.relPos());
        assertEquals(VisionTransformer.Pool.AVG, b.pool());
        assertEquals(0.1, b.layerScaleInit());
    }
}
