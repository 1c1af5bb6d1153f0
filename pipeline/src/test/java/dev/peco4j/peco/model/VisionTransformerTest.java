package dev.peco4j.peco.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
                new VisionTransformer.Config(8, 4, 2, 3, 16, 2, 2, 2.0, 0.0, 0.1, true, true, false));
        Tensor loss = Functional.crossEntropy(vit.forward(Tensor.randn(new Generator(2), 2, 2, 8, 8)), Tensor.ofInts(new int[] {0, 2}, 2), 0.1);
        loss.backward();
        vit.namedParameters().forEach((n, p) -> assertNotNull(p.grad(), n + " has a gradient"));
        assertTrue(vit.noWeightDecay("blocks.0.attn.q_bias", vit.blocks.get(0).attn.qBias));
        assertTrue(vit.noWeightDecay("cls_token", vit.clsToken));
    }

    @Test
    void gradientsMatchFiniteDifferencesInFloat64() {
        VisionTransformer vit = new VisionTransformer(new Generator(3),
                new VisionTransformer.Config(4, 2, 1, 3, 8, 1, 2, 2.0, 0.0, 0.1, true, true, true));
        vit.to(DType.FLOAT64);
        Tensor x = Tensor.randn(new Generator(4), 2, 1, 4, 4).to(DType.FLOAT64);
        Tensor y = Tensor.ofInts(new int[] {1, 2}, 2);
        List<Tensor> params = vit.parameters();
        GradCheck.Report r = GradCheck.check("vit", ins -> Functional.crossEntropy(vit.forward(x), y, 0.1),
                GradCheck.Options.defaults(5).withMode(GradCheck.Mode.FULL), params.toArray(Tensor[]::new));
        assertTrue(r.ops().contains("sdpa") && r.ops().contains("layer_norm") && r.ops().contains("conv2d"), r.ops().toString());
    }
}
