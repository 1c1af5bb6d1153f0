package dev.peco4j.peco.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VQModelTest {
    private static long count(Map<String, Tensor> params, String prefix) {
        return params.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToLong(e -> e.getValue().numel()).sum();
    }

    @Test
    void theF16PresetHasTamingsLayoutAndParameterCounts() {
        VQModel.Config c = VQModel.Config.vqganF16();
        assertEquals(List.of(false, false, false, false, true), c.attn(), "attention only where the nominal resolution is 16 (of 256)");
        assertEquals(16, c.factor());
        VQModel m = new VQModel(new Generator(0), c);
        Map<String, Tensor> p = m.namedParameters();
        // peco-spec §2.2, counted there from the layer list: encoder ≈ 29.3 M, decoder ≈ 42.4 M, the 1×1 convs ≈ 0.13 M,
        // codebook 8192 × 256, PatchGAN ≈ 2.8 M
        long enc = count(p, "encoder."), dec = count(p, "decoder."), convs = count(p, "quant_conv.") + count(p, "post_quant_conv."),
                book = count(p, "quantize."), disc = count(p, "loss.");
        System.out.printf("vqgan-f16: encoder %,d, decoder %,d, quant convs %,d, codebook %,d, discriminator %,d%n", enc, dec, convs, book, disc);
        assertEquals(29.3e6, enc, 0.05e6);
        assertEquals(42.4e6, dec, 0.05e6);
        assertEquals(0.13e6, convs, 0.005e6);
        assertEquals(8192 * 256, book);
        assertEquals(2.8e6, disc, 0.05e6);
        assertTrue(p.containsKey("encoder.down.4.attn.1.proj_out.weight") && !p.containsKey("encoder.down.3.attn.0.q.weight"));
        assertTrue(p.containsKey("decoder.up.4.attn.2.q.weight") && p.containsKey("decoder.up.4.upsample.conv.weight"));
        assertFalse(p.containsKey("decoder.up.0.upsample.conv.weight"), "the full-resolution level does not upsample");
        assertTrue(p.containsKey("encoder.down.2.block.0.nin_shortcut.weight"), "128 → 256 channels take a 1×1 shortcut");
    }

    @Test
    void theSmallPresetMapsA28PixelImageToA7By7CodeGridAndBack() {
        VQModel m = new VQModel(new Generator(1), VQModel.Config.small(1));
        m.eval();
        try (var ignored = Autograd.noGrad()) {
            Tensor x = Tensor.rand(new Generator(2), 3, 1, 28, 28).mul(2.0).sub(1.0);
            VectorQuantizer.Result r = m.encode(x);
            assertArrayEquals(new int[] {3, 7, 7}, r.indices().shape().dims());
            assertArrayEquals(new int[] {3, 1, 28, 28}, m.decodeCode(r.indices()).shape().dims());
            assertArrayEquals(m.decode(r.quantized()).toFloatArray(), m.decodeCode(r.indices()).toFloatArray(), 1e-5f);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> m.encode(Tensor.zeros(1, 3, 28, 28)));
        assertTrue(e.getMessage().contains("(B, 1, H, W)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.encode(Tensor.zeros(1, 1, 30, 30)));
        assertTrue(e.getMessage().contains("factor 4"), e.getMessage());
    }
}
