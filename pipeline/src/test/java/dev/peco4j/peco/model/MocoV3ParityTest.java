package dev.peco4j.peco.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.peco4j.peco.PyTorchFixtures.assertClose;

import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.peco.PyTorchFixtures;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small MoCo-v3 ViT built in PyTorch 1.13 from MoCo v3's vits.py and timm's blocks, with random
 * weights (nn/src/test/python/make_fixtures.py): its state dict in the converted layout loads
 * strictly by timm's names, and every block's output and the final tokens match within 1e-4.
 */
class MocoV3ParityTest {
    @TempDir
    Path dir;

    static final VisionTransformer.Config SMALL = VisionTransformer.Config.mocoV3(16, 4, 16, 3, 2);

    static Map<String, Tensor> fixture() throws Exception {
        return PyTorchFixtures.read("moco_v3_vit");
    }

    static Path params(Path dir, Map<String, Tensor> all, String drop, Tensor reshaped) throws Exception {
        Map<String, Tensor> p = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (!k.startsWith("param.")) return;
            String name = k.substring(6);
            if (name.equals(drop)) {
                if (reshaped != null) p.put(name, reshaped);
            } else {
                p.put(name, v);
            }
        });
        Path f = dir.resolve("moco.safetensors");
        SafeTensors.writeTensors(f, Map.of(), p);
        return f;
    }

    @Test
    void everyTapMatchesPyTorch() throws Exception {
        Map<String, Tensor> all = fixture();
        VisionTransformer vit = VisionTransformer.load(params(dir, all, null, null), SMALL);
        vit.eval();
        // MoCo v3 computes its sin-cos table in float32 from the same formula
        assertClose(all.get("param.pos_embed"), VisionTransformer.sinCosPositionEmbedding(4, 4, 16), 1e-6, "pos_embed layout");
        Tensor x = all.get("input.x");
        try (var ignored = Autograd.noGrad()) {
            List<Tensor> taps = vit.forwardIntermediates(x, new int[] {0, 1, 2}, false, true);
            for (int i = 0; i < 3; i++) assertClose(all.get("tap.blocks." + i), taps.get(i), 1e-4, "block " + i);
            assertClose(all.get("output.forward_features"), vit.forwardFeatures(x), 1e-4, "forward_features");
        }
    }

    @Test
    void missingOrMisShapedKeysNameTheFileAndTheKey() throws Exception {
        Map<String, Tensor> all = fixture();
        Path missing = params(dir, all, "blocks.1.attn.qkv.bias", null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VisionTransformer.load(missing, SMALL));
        assertTrue(e.getMessage().startsWith("safetensors " + missing + ": ") && e.getMessage().contains("blocks.1.attn.qkv.bias"), e.getMessage());
        Path shaped = params(dir, all, "norm.weight", Tensor.zeros(8));
        e = assertThrows(IllegalArgumentException.class, () -> VisionTransformer.load(shaped, SMALL));
        assertTrue(e.getMessage().contains("norm.weight: checkpoint [8] vs model [16]"), e.getMessage());
    }
}
