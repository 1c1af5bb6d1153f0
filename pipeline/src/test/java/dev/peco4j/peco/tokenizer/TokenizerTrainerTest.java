package dev.peco4j.peco.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.peco.PyTorchFixtures;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTrainerTest {
    @TempDir
    Path dir;

    @Test
    void theDiscriminatorLossesAreTamingsFormulas() {
        Tensor real = Tensor.of(new double[] {-2, 0.5, 3}, 3), fake = Tensor.of(new double[] {-3, 0.2, 40}, 3);
        double hinge = 0.5 * ((3 + 0.5 + 0) / 3 + (0 + 1.2 + 41) / 3);
        assertEquals(hinge, TokenizerTrainer.discLoss("hinge", real, fake).item(), 1e-12);
        double sp = 0;
        for (double r : new double[] {-2, 0.5, 3}) sp += Math.log1p(Math.exp(-r)) / 3;
        for (double f : new double[] {-3, 0.2}) sp += Math.log1p(Math.exp(f)) / 3;
        sp += (40 + Math.log1p(Math.exp(-40))) / 3;                                         // softplus(40) without overflow
        assertEquals(0.5 * sp, TokenizerTrainer.discLoss("vanilla", real, fake).item(), 1e-12);
        assertEquals(1000, TokenizerTrainer.softplus(Tensor.of(new double[] {1000}, 1)).item(), 0, "no overflow");
        assertEquals(0.25, TokenizerTrainer.pixelLoss("l2", Tensor.of(new double[] {1, 0}, 2), Tensor.of(new double[] {0.5, 0.5}, 2)).item(), 1e-15);
        assertEquals(0.5, TokenizerTrainer.pixelLoss("l1", Tensor.of(new double[] {1, 0}, 2), Tensor.of(new double[] {0.5, 0.5}, 2)).item(), 1e-15);
    }

    @Test
    void aVitFileIsReadWithItsShapeInferredAndAForeignFileIsRefused() throws Exception {
        Map<String, Tensor> all = PyTorchFixtures.read("moco_v3_vit"), state = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith("param.")) state.put(k.substring(6), v);
        });
        Path file = dir.resolve("vit.safetensors");
        SafeTensors.writeTensors(file, Map.of(), state);
        VisionTransformer vit = TokenizerTrainer.mocoStyleVit(file);
        assertEquals(16, vit.config.imgSize());
        assertEquals(4, vit.config.patchSize());
        assertEquals(16, vit.config.embedDim());
        assertEquals(3, vit.config.depth());
        Path other = dir.resolve("other.safetensors");
        SafeTensors.writeTensors(other, Map.of(), Map.of("w", Tensor.zeros(2, 2)));
        var e = assertThrows(IllegalArgumentException.class, () -> TokenizerTrainer.mocoStyleVit(other));
        assertTrue(e.getMessage().contains(other.toString()) && e.getMessage().contains("patch_embed.proj.weight"), e.getMessage());
    }
}
