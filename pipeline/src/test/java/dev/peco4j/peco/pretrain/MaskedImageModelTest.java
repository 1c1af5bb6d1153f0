package dev.peco4j.peco.pretrain;

import static dev.peco4j.peco.PyTorchFixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.Losses;
import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The MIM model against a tiny VisionTransformerForMaskedImageModeling written in PyTorch 1.13 from
 * BEiT's modeling_pretrain.py / modeling_finetune.py with random weights (make_fixtures.py,
 * beit_mim_tiny): BEiT's state dict loads strictly by its names, and the logits at the masked
 * positions, the loss and the gradient of every parameter and of the input match within 1e-4; once
 * with the shared relative position bias (BEiT's pre-training default), once with an absolute
 * position embedding instead. Then BEiT's parameter counts, init and weight-decay rules.
 */
class MaskedImageModelTest {
    static SafeTensors.Contents fixture() throws Exception {
        return SafeTensors.read(Path.of(MaskedImageModelTest.class.getResource("/fixtures/beit_mim_tiny.safetensors").toURI()));
    }

    @Test
    void logitsLossAndEveryGradientMatchBeitInPyTorch() throws Exception {
        Map<String, Tensor> all = fixture().tensors();
        for (String prefix : new String[] {"", "abs."}) {
            boolean abs = !prefix.isEmpty();
            VisionTransformer.Config v = VisionTransformer.Config.of(16, 4, 32, 2, 4).withLayerScaleInit(0.1)
                    .withPosEmbed(abs ? VisionTransformer.PosEmbed.LEARNED : VisionTransformer.PosEmbed.NONE).withRelPos(abs ? VisionTransformer.RelPos.NONE : VisionTransformer.RelPos.SHARED);
            MaskedImageModel m = new MaskedImageModel(new Generator(0), MaskedImageModel.Config.of(v, 24));
            Map<String, Tensor> state = new LinkedHashMap<>();
            all.forEach((k, t) -> {
                if (k.startsWith(prefix + "param.")) state.put(k.substring((prefix + "param.").length()), t);
            });
            if (!abs) state.put("rel_pos_bias.relative_position_index", all.get("buffer.rel_pos_bias.relative_position_index").to(DType.INT32));
            m.loadStateDict(state, true);
            m.to(DType.FLOAT64);
            m.train(true); // drop path 0: train mode is deterministic, as the fixture's
            Tensor x = all.get("input.x").to(DType.FLOAT64).requiresGrad(true);
            Tensor mask = all.get("input.mask").to(DType.BOOL);
            Tensor logits = m.forward(x, mask);
            assertClose(all.get(prefix + "logits"), logits, 1e-4, prefix + "logits at the masked positions");
            Tensor loss = Losses.crossEntropy(logits, all.get("input.labels").to(DType.INT32), 0);
            assertClose(all.get(prefix + "loss"), loss, 1e-6, prefix + "loss");
            loss.backward();
            int grads = 0;
            for (var e : m.namedParameters().entrySet()) {
                Tensor want = all.get(prefix + "grad." + e.getKey());
                assertTrue(want != null, prefix + "no PyTorch gradient for " + e.getKey());
                assertClose(want, e.getValue().grad(), 1e-4, prefix + "grad " + e.getKey());
                grads++;
            }
            assertClose(all.get(prefix + "grad.input.x"), x.grad(), 1e-4, prefix + "grad of the input");
            assertEquals(state.size() - (abs ? 0 : 1), grads, "every parameter compared");
            System.out.printf("MIM parity (%s): %d logits, loss %.6f, %d parameter gradients within 1e-4%n", abs ? "absolute positions" : "shared relative bias",
                    logits.numel(), loss.item(), grads);
        }
    }

    @Test
    void beitPresetsHaveBeitsParameterCounts() throws Exception {
        Map<String, String> meta = fixture().metadata();
        for (String name : new String[] {"beit_base_patch16_224_8k_vocab"}) { // large (311 M) would take a minute to build here
            MaskedImageModel m = new MaskedImageModel(new Generator(0), MaskedImageModel.Config.preset(name));
            System.out.printf("%s: %,d backbone parameters, %,d with lm_head%n", name, m.backboneParameterCount(), m.parameterCount());
            assertEquals(Long.parseLong(meta.get("backbone_params." + name)), m.backboneParameterCount(), name + " backbone");
            assertEquals(Long.parseLong(meta.get("params." + name)), m.parameterCount(), name + " with lm_head");
        }
        MaskedImageModel b = new MaskedImageModel(new Generator(0), MaskedImageModel.Config.preset("beit_base_patch16_224_8k_vocab"));
        assertEquals(86, Math.round(b.backboneParameterCount() / 1e6), "ViT-B/16: 86 M backbone parameters");
        var huge = MaskedImageModel.Config.preset("beit_huge_patch14_224_8k_vocab").vit();
        assertEquals(16, huge.gridSize(), "ViT-H/14 at 224: 16x16 patches");
        assertEquals(1280, huge.embedDim());
    }

    @Test
    void initIsBeitsAndWeightDecaySkipsWhatBeitSkips() {
        MaskedImageModel m = new MaskedImageModel(new Generator(3), MaskedImageModel.Config.small("small", 28, 4, 1, 256));
        for (String name : new String[] {"mask_token", "cls_token", "lm_head.weight", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight"}) {
            Tensor p = m.namedParameters().get(name);
            double max = 0;
            for (double d : p.toDoubleArray()) max = Math.max(max, Math.abs(d));
            assertTrue(max <= 0.02 + 1e-7 && max > 0.01, name + ": trunc_normal(0.02) truncated at ±1 std, max |w| " + max);
        }
        for (double d : m.namedParameters().get("rel_pos_bias.relative_position_bias_table").toDoubleArray()) assertEquals(0, d, "relative table starts at zero");
        double s1 = std(m.namedParameters().get("blocks.0.mlp.fc2.weight")), s6 = std(m.namedParameters().get("blocks.5.mlp.fc2.weight"));
        assertEquals(Math.sqrt(6), s1 / s6, 0.15, "fc2 of block l divided by sqrt(2l): blocks 1 and 6 differ by sqrt(6)");
        Set<String> noDecay = new java.util.TreeSet<>();
        m.namedParameters().forEach((n, p) -> {
            if (m.noWeightDecay(n, p)) noDecay.add(n);
        });
        assertTrue(noDecay.contains("cls_token") && noDecay.contains("blocks.0.gamma_1") && noDecay.contains("blocks.0.attn.q_bias")
                && noDecay.contains("lm_head.bias") && noDecay.contains("norm.weight"), noDecay.toString());
        assertFalse(noDecay.contains("mask_token"), "mask_token (1, 1, D) is 3-d: BEiT decays it");
        assertFalse(noDecay.contains("rel_pos_bias.relative_position_bias_table"), "the 2-d relative table is decayed in BEiT pre-training");
        assertFalse(noDecay.contains("lm_head.weight"));
    }

    private static double std(Tensor t) {
        double[] d = t.toDoubleArray();
        double s = 0;
        for (double v : d) s += v * v;
        return Math.sqrt(s / d.length);
    }

    @Test
    void aMaskOfTheWrongShapeIsRefused() {
        MaskedImageModel m = new MaskedImageModel(new Generator(3), MaskedImageModel.Config.small("tiny", 28, 4, 1, 16));
        var e = assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.zeros(2, 1, 28, 28), Tensor.ofBools(new boolean[2 * 36], 2, 36)));
        assertTrue(e.getMessage().contains("mask [2, 36] is not (2, 49)"), e.getMessage());
    }
}
