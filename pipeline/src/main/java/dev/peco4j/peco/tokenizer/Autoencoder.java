package dev.peco4j.peco.tokenizer;

import dev.peco4j.nn.Conv2d;
import dev.peco4j.nn.Dropout;
import dev.peco4j.nn.GroupNorm;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.ModuleList;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/**
 * VQGAN's convolutional encoder and decoder, as taming-transformers'
 * {@code taming/modules/diffusionmodules/model.py} builds them, with its module names (so a taming
 * state dict loads by name). Letters: B batch, C channels, H×W the feature map.
 *
 * <ul>
 *   <li>{@link ResnetBlock}: GroupNorm → swish → conv3×3 → GroupNorm → swish → dropout → conv3×3,
 *       plus the input (through a 1×1 {@code nin_shortcut} when the width changes);</li>
 *   <li>{@link AttnBlock}: single-head self-attention over the H·W positions, 1×1 convs for q, k, v
 *       and the output, scale 1/√C, residual;</li>
 *   <li>{@link Downsample}: zero padding on the right and bottom only, then a 3×3 stride-2 conv;</li>
 *   <li>{@link Upsample}: nearest-neighbour ×2, then a 3×3 conv.</li>
 * </ul>
 * GroupNorm has eps 1e-6 and, in taming, 32 groups ({@link VQModel.Config#groups()}).
 */
public final class Autoencoder {
    private Autoencoder() {}

    static GroupNorm normalize(VQModel.Config c, int channels) {
        return new GroupNorm(c.groups(), channels, 1e-6, true);
    }

    static Conv2d conv(Generator gen, int in, int out, int kernel, int stride, int padding) {
        return new Conv2d(gen, Conv2d.Config.of(in, out, kernel).stride(stride).padding(padding));
    }

    /** taming's ResnetBlock without a time embedding (temb_channels 0) and with the 1×1 shortcut. */
    public static final class ResnetBlock extends Module {
        final GroupNorm norm1, norm2;
        final Conv2d conv1, conv2, ninShortcut;
        final Dropout dropout;

        ResnetBlock(Generator gen, VQModel.Config c, int in, int out) {
            norm1 = child("norm1", normalize(c, in));
            conv1 = child("conv1", conv(gen, in, out, 3, 1, 1));
            norm2 = child("norm2", normalize(c, out));
            dropout = child("dropout", new Dropout(c.dropout()));
            conv2 = child("conv2", conv(gen, out, out, 3, 1, 1));
            ninShortcut = in == out ? null : child("nin_shortcut", conv(gen, in, out, 1, 1, 0));
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = conv1.forward(norm1.forward(x).silu());
            h = conv2.forward(dropout.forward(norm2.forward(h).silu()));
            return (ninShortcut == null ? x : ninShortcut.forward(x)).add(h);
        }
    }

    /** taming's AttnBlock: softmax(q·kᵀ / √C) v over all positions, one head, then proj_out and the residual. */
    public static final class AttnBlock extends Module {
        final GroupNorm norm;
        final Conv2d q, k, v, projOut;

        AttnBlock(Generator gen, VQModel.Config c, int channels) {
            norm = child("norm", normalize(c, channels));
            q = child("q", conv(gen, channels, channels, 1, 1, 0));
            k = child("k", conv(gen, channels, channels, 1, 1, 0));
            v = child("v", conv(gen, channels, channels, 1, 1, 0));
            projOut = child("proj_out", conv(gen, channels, channels, 1, 1, 0));
        }

        @Override
        public Tensor forward(Tensor x) {
            int b = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
            Tensor n = norm.forward(x);
            Tensor qs = tokens(q.forward(n)), ks = tokens(k.forward(n)), vs = tokens(v.forward(n));  // (B, 1, HW, C)
            Tensor a = Functional.scaledDotProductAttention(qs, ks, vs, null, null, 1 / Math.sqrt(ch));
            Tensor map = a.reshape(b, h * w, ch).permute(0, 2, 1).reshape(b, ch, h, w);
            return x.add(projOut.forward(map));
        }

        private static Tensor tokens(Tensor m) {                                     // (B, C, H, W) → (B, 1, HW, C)
            return m.flatten(2, 3).permute(0, 2, 1).unsqueeze(1);
        }
    }

    /** Zero padding (0, 1, 0, 1) then a 3×3 stride-2 convolution without padding: H → H/2. */
    public static final class Downsample extends Module {
        final Conv2d conv;

        Downsample(Generator gen, int channels) {
            conv = child("conv", conv(gen, channels, channels, 3, 2, 0));
        }

        @Override
        public Tensor forward(Tensor x) {
            return conv.forward(x.pad(new int[] {0, 1, 0, 1}, 0));
        }
    }

    /** Nearest-neighbour ×2 then a 3×3 convolution: H → 2H. */
    public static final class Upsample extends Module {
        final Conv2d conv;

        Upsample(Generator gen, int channels) {
            conv = child("conv", conv(gen, channels, channels, 3, 1, 1));
        }

        @Override
        public Tensor forward(Tensor x) {
            return conv.forward(Functional.upsampleNearest(x, 2));
        }
    }

    /** One resolution of the encoder or the decoder: its res blocks, each followed by attention where the level has it. */
    public static final class Level extends Module {
        final ModuleList<ResnetBlock> block = new ModuleList<>();
        final ModuleList<AttnBlock> attn = new ModuleList<>();
        Module resample;                                                           // downsample / upsample, or null

        Level() {
            child("block", block);
            child("attn", attn);
        }

        void resample(String name, Module m) {
            resample = child(name, m);
        }

        @Override
        public Tensor forward(Tensor x) {
            for (int i = 0; i < block.size(); i++) {
                x = block.get(i).forward(x);
                if (attn.size() > 0) x = attn.get(i).forward(x);
            }
            return resample == null ? x : resample.forward(x);
        }
    }

    /** The middle of both networks: block_1, attn_1, block_2 at the deepest width. */
    public static final class Mid extends Module {
        final ResnetBlock block1, block2;
        final AttnBlock attn1;

        Mid(Generator gen, VQModel.Config c, int channels) {
            block1 = child("block_1", new ResnetBlock(gen, c, channels, channels));
            attn1 = child("attn_1", new AttnBlock(gen, c, channels));
            block2 = child("block_2", new ResnetBlock(gen, c, channels, channels));
        }

        @Override
        public Tensor forward(Tensor x) {
            return block2.forward(attn1.forward(block1.forward(x)));
        }
    }

    /** Images (B, in_channels, H, W) → z (B, z_channels, H/f, W/f), f = 2^(levels − 1). */
    public static final class Encoder extends Module {
        final Conv2d convIn, convOut;
        final ModuleList<Level> down = new ModuleList<>();
        final Mid mid;
        final GroupNorm normOut;

        Encoder(Generator gen, VQModel.Config c) {
            convIn = child("conv_in", conv(gen, c.inChannels(), c.ch(), 3, 1, 1));
            child("down", down);
            int in = c.ch();
            for (int l = 0; l < c.levels(); l++) {
                Level level = new Level();
                int out = c.ch() * c.chMult().get(l);
                for (int i = 0; i < c.numResBlocks(); i++) {
                    level.block.add(new ResnetBlock(gen, c, in, out));
                    in = out;
                    if (c.attn().get(l)) level.attn.add(new AttnBlock(gen, c, in));
                }
                if (l != c.levels() - 1) level.resample("downsample", new Downsample(gen, in));
                down.add(level);
            }
            mid = child("mid", new Mid(gen, c, in));
            normOut = child("norm_out", normalize(c, in));
            convOut = child("conv_out", conv(gen, in, c.zChannels(), 3, 1, 1));
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = convIn.forward(x);
            for (Level l : down) h = l.forward(h);
            return convOut.forward(normOut.forward(mid.forward(h)).silu());
        }
    }

    /** z (B, z_channels, h, w) → images (B, out_ch, h·f, w·f); each level has num_res_blocks + 1 res blocks. */
    public static final class Decoder extends Module {
        final Conv2d convIn, convOut;
        final Mid mid;
        final ModuleList<Level> up = new ModuleList<>();
        final GroupNorm normOut;

        Decoder(Generator gen, VQModel.Config c) {
            int in = c.ch() * c.chMult().get(c.levels() - 1);
            convIn = child("conv_in", conv(gen, c.zChannels(), in, 3, 1, 1));
            mid = child("mid", new Mid(gen, c, in));
            Level[] levels = new Level[c.levels()];
            for (int l = c.levels() - 1; l >= 0; l--) {                              // built deepest first, as taming
                Level level = new Level();
                int out = c.ch() * c.chMult().get(l);
                for (int i = 0; i <= c.numResBlocks(); i++) {
                    level.block.add(new ResnetBlock(gen, c, in, out));
                    in = out;
                    if (c.attn().get(l)) level.attn.add(new AttnBlock(gen, c, in));
                }
                if (l != 0) level.resample("upsample", new Upsample(gen, in));
                levels[l] = level;
            }
            child("up", up);
            for (Level l : levels) up.add(l);                                        // up.0 is the full resolution
            normOut = child("norm_out", normalize(c, in));
            convOut = child("conv_out", conv(gen, in, c.outCh(), 3, 1, 1));
        }

        @Override
        public Tensor forward(Tensor z) {
            Tensor h = mid.forward(convIn.forward(z));
            for (int l = up.size() - 1; l >= 0; l--) h = up.get(l).forward(h);
            return convOut.forward(normOut.forward(h).silu());
        }

        /** taming's get_last_layer: the weight the adaptive GAN weight differentiates against. */
        public Tensor lastLayer() {
            return convOut.weight;
        }
    }
}
