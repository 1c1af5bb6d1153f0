package dev.peco4j.peco.tokenizer;

import dev.peco4j.nn.Conv2d;
import dev.peco4j.nn.Module;
import dev.peco4j.peco.tokenizer.Autoencoder.Decoder;
import dev.peco4j.peco.tokenizer.Autoencoder.Encoder;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The VQGAN tokenizer, as taming-transformers' {@code VQModel}: encoder → quant_conv → codebook →
 * post_quant_conv → decoder, and (as taming keeps it in the same state dict) the PatchGAN
 * discriminator under {@code loss.discriminator}. Images (B, C, H, W) become codes (B, H/f, W/f),
 * f = 2^(levels − 1).
 *
 * <pre>{@code
 * VQModel vq = new VQModel(new Generator(0), VQModel.Config.small(1));       // 28-pixel grayscale
 * VectorQuantizer.Result r = vq.encode(images);      // r.indices(): (B, 7, 7)
 * Tensor recon = vq.decode(r.quantized());
 * }</pre>
 */
public final class VQModel extends Module {
    /**
     * The architecture. chMult gives each level's width as a multiple of ch; attn says which levels
     * have attention after each res block (taming decides it from attn_resolutions and the nominal
     * resolution, see {@link #attnAt}); groups is GroupNorm's (taming: 32); quantizer holds the
     * codebook options ({@link VectorQuantizer.Options#TAMING}: none).
     */
    public record Config(int ch, List<Integer> chMult, int numResBlocks, List<Boolean> attn, int inChannels, int outCh, int zChannels,
                         int embedDim, int nEmbed, double beta, VectorQuantizer.LossForm lossForm, VectorQuantizer.Options quantizer,
                         double dropout, int groups, int discNdf, int discLayers) {
        public Config {
            chMult = List.copyOf(chMult);
            attn = List.copyOf(attn);
            if (chMult.isEmpty() || attn.size() != chMult.size()) {
                throw new IllegalArgumentException("VQGAN config: ch_mult " + chMult + " and attention " + attn + " need one entry per level");
            }
            if (ch < 1 || numResBlocks < 1 || inChannels < 1 || outCh < 1 || zChannels < 1 || embedDim < 1 || nEmbed < 1 || groups < 1
                    || discNdf < 1 || discLayers < 1) {
                throw new IllegalArgumentException("VQGAN config: every size must be >= 1: " + this);
            }
            for (int m : chMult) {
                if (m < 1 || (ch * m) % groups != 0) {
                    throw new IllegalArgumentException("VQGAN config: level width " + ch + "×" + m + " is not a multiple of " + groups + " GroupNorm groups");
                }
            }
        }

        /** taming's rule: attention at the levels whose nominal resolution (resolution, halved per level) is listed. */
        public static List<Boolean> attnAt(int resolution, List<Integer> attnResolutions, int levels) {
            List<Boolean> out = new ArrayList<>();
            for (int l = 0, r = resolution; l < levels; l++, r /= 2) out.add(attnResolutions.contains(r));
            return out;
        }

        /** taming's ImageNet f16 VQGAN (configs/imagenet_vqgan.yaml) with PeCo's 8192 codes: 224 px → 14×14 codes. */
        public static Config vqganF16() {
            return new Config(128, List.of(1, 1, 2, 2, 4), 2, attnAt(256, List.of(16), 5), 3, 3, 256, 256, 8192, 0.25,
                    VectorQuantizer.LossForm.PAPER, VectorQuantizer.Options.TAMING, 0, 32, 64, 3);
        }

        /**
         * The small tokenizer of the CPU setting (after peco-spec §8.2): f = 4 (28 px → 7×7, 32 px →
         * 8×8, the small ViT's patch-4 grid), widths 16, 32, 32 (half of §8.2's 32, 64, 64: 58 instead
         * of 24 training images/s on 2 cores), one res block per level, attention at the code grid, z
         * and code width 32, 256 codes, GroupNorm with 8 groups, a 2-layer PatchGAN.
         */
        public static Config small(int channels) {
            return new Config(16, List.of(1, 2, 2), 1, List.of(false, false, true), channels, channels, 32, 32, 256, 0.25,
                    VectorQuantizer.LossForm.PAPER, VectorQuantizer.Options.TAMING, 0, 8, 32, 2);
        }

        public int levels() {
            return chMult.size();
        }

        /** The downsampling factor f. */
        public int factor() {
            return 1 << (levels() - 1);
        }

        public Config withCodes(int k) {
            return new Config(ch, chMult, numResBlocks, attn, inChannels, outCh, zChannels, embedDim, k, beta, lossForm, quantizer, dropout, groups,
                    discNdf, discLayers);
        }

        public Config withEmbedDim(int d) {
            return new Config(ch, chMult, numResBlocks, attn, inChannels, outCh, zChannels, d, nEmbed, beta, lossForm, quantizer, dropout, groups,
                    discNdf, discLayers);
        }

        public Config withBeta(double b) {
            return new Config(ch, chMult, numResBlocks, attn, inChannels, outCh, zChannels, embedDim, nEmbed, b, lossForm, quantizer, dropout, groups,
                    discNdf, discLayers);
        }

        public Config withLossForm(VectorQuantizer.LossForm f) {
            return new Config(ch, chMult, numResBlocks, attn, inChannels, outCh, zChannels, embedDim, nEmbed, beta, f, quantizer, dropout, groups,
                    discNdf, discLayers);
        }

        public Config withQuantizer(VectorQuantizer.Options o) {
            return new Config(ch, chMult, numResBlocks, attn, inChannels, outCh, zChannels, embedDim, nEmbed, beta, lossForm, o, dropout, groups,
                    discNdf, discLayers);
        }

        public Config withChannels(int c) {
            return new Config(ch, chMult, numResBlocks, attn, c, c, zChannels, embedDim, nEmbed, beta, lossForm, quantizer, dropout, groups, discNdf,
                    discLayers);
        }
    }

    /** taming's VQLPIPSWithDiscriminator as far as it has weights: the discriminator (the perceptual net is frozen and kept apart). */
    public static final class Loss extends Module {
        public final NLayerDiscriminator discriminator;

        Loss(Generator gen, Config c) {
            discriminator = child("discriminator", new NLayerDiscriminator(gen, c.outCh(), c.discNdf(), c.discLayers()));
        }

        @Override
        public Tensor forward(Tensor x) {
            return discriminator.forward(x);
        }
    }

    public final Config config;
    public final Encoder encoder;
    public final Decoder decoder;
    public final Loss loss;
    public final VectorQuantizer quantize;
    final Conv2d quantConv, postQuantConv;

    public VQModel(Generator gen, Config c) {
        this.config = c;
        encoder = child("encoder", new Encoder(gen, c));
        decoder = child("decoder", new Decoder(gen, c));
        loss = child("loss", new Loss(gen, c));
        quantize = child("quantize", new VectorQuantizer(gen, c.nEmbed(), c.embedDim(), c.beta(), c.lossForm(), c.quantizer()));
        quantConv = child("quant_conv", Autoencoder.conv(gen, c.zChannels(), c.embedDim(), 1, 1, 0));
        postQuantConv = child("post_quant_conv", Autoencoder.conv(gen, c.embedDim(), c.zChannels(), 1, 1, 0));
    }

    /**
     * The tokenizer of a safetensors file with taming's names (scripts/convert-taming.py) whose config
     * is read from its tensors: ch and input channels from encoder.conv_in, the levels, res blocks and
     * attention from encoder.down.*, ch_mult from each level's last block, z channels from
     * encoder.conv_out, the code width and count from quant_conv and quantize.embedding. GroupNorm's
     * group count leaves no trace in the weights, so it is given (taming: 32). The autoencoder loads
     * strictly; a discriminator in the file is ignored (only encoding and decoding need the model).
     * Errors name the file and the key.
     */
    public static VQModel loadTaming(java.nio.file.Path file, int groups) throws java.io.IOException {
        return loadTaming(dev.peco4j.nn.io.SafeTensors.read(file).tensors(), "safetensors " + file, groups);
    }

    /** {@link #loadTaming(java.nio.file.Path, int)} on tensors already read; source names them in errors. */
    public static VQModel loadTaming(Map<String, Tensor> t, String source, int groups) {
        java.util.function.BiFunction<String, Integer, Tensor> need = (k, rank) -> {
            Tensor v = t.get(k);
            if (v == null) throw new IllegalArgumentException(source + ": no " + k + " (not a VQGAN with taming's names?)");
            if (v.dim() != rank || v.numel() == 0) throw new IllegalArgumentException(source + ": " + k + " is " + v.shape() + ", expected a non-empty " + rank + "-d tensor");
            return v;
        };
        Tensor in = need.apply("encoder.conv_in.weight", 4);
        int ch = in.size(0), levels = 0, blocks = 0;
        while (t.containsKey("encoder.down." + levels + ".block.0.conv1.weight")) levels++;
        while (t.containsKey("encoder.down.0.block." + blocks + ".conv1.weight")) blocks++;
        if (levels == 0 || blocks == 0) throw new IllegalArgumentException(source + ": no encoder.down.0.block.0 (not a VQGAN with taming's names?)");
        List<Integer> mult = new ArrayList<>();
        List<Boolean> attn = new ArrayList<>();
        for (int l = 0; l < levels; l++) {
            String k = "encoder.down." + l + ".block." + (blocks - 1) + ".conv2.weight";
            int width = need.apply(k, 4).size(0);
            if (width % ch != 0) throw new IllegalArgumentException(source + ": " + k + " has " + width + " channels, not a multiple of conv_in's " + ch);
            mult.add(width / ch);
            attn.add(t.containsKey("encoder.down." + l + ".attn.0.q.weight"));
        }
        Tensor book = need.apply("quantize.embedding.weight", 2);
        Config c = new Config(ch, mult, blocks, attn, in.size(1), need.apply("decoder.conv_out.weight", 4).size(0), need.apply("encoder.conv_out.weight", 4).size(0),
                book.size(1), book.size(0), 0.25, VectorQuantizer.LossForm.PAPER, VectorQuantizer.Options.TAMING, 0, groups, 64, 3);
        VQModel m = new VQModel(new Generator(0), c);
        Map<String, Tensor> autoencoder = new java.util.LinkedHashMap<>();
        t.forEach((k, v) -> {
            if (!k.startsWith("loss.")) autoencoder.put(k, v);
        });
        dev.peco4j.nn.LoadReport r = m.loadStateDict(autoencoder, false);
        List<String> missing = r.missing().stream().filter(k -> !k.startsWith("loss.")).toList();
        if (!missing.isEmpty() || !r.unexpected().isEmpty() || !r.shapeMismatches().isEmpty()) {
            throw new IllegalArgumentException(source + ": does not load as the VQGAN its tensors describe (" + c.ch() + " ch, ch_mult " + mult
                    + ", " + blocks + " res blocks, " + c.nEmbed() + " codes of " + c.embedDim() + "): missing " + missing + ", unexpected " + r.unexpected()
                    + ", shape mismatches " + r.shapeMismatches());
        }
        m.eval();
        return m;
    }

    /**
     * A tokenizer from a safetensors file with taming's names (scripts/convert-taming.py), loaded
     * strictly into the given config; errors name the file and the key.
     */
    public static VQModel load(java.nio.file.Path file, Config c) throws java.io.IOException {
        VQModel m = new VQModel(new Generator(0), c);
        Map<String, Tensor> state = dev.peco4j.nn.io.SafeTensors.read(file).tensors();
        try {
            m.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("safetensors " + file + ": " + e.getMessage(), e);
        }
        m.eval();
        return m;
    }

    /** The encoder's map before quantization (B, embed_dim, H/f, W/f). */
    public Tensor encodeToPrequant(Tensor x) {
        if (x.dim() != 4 || x.size(1) != config.inChannels()) {
            throw new IllegalArgumentException("VQGAN: expected images (B, " + config.inChannels() + ", H, W), got " + x.shape());
        }
        int f = config.factor();
        if (x.size(2) % f != 0 || x.size(3) % f != 0) {
            throw new IllegalArgumentException("VQGAN: image size " + x.size(2) + "×" + x.size(3) + " is not a multiple of the factor " + f);
        }
        return quantConv.forward(encoder.forward(x));
    }

    /** Images → straight-through codes, VQ loss and indices. */
    public VectorQuantizer.Result encode(Tensor x) {
        return quantize.quantize(encodeToPrequant(x));
    }

    /** A code map (B, embed_dim, h, w) → images. */
    public Tensor decode(Tensor quant) {
        return decoder.forward(postQuantConv.forward(quant));
    }

    /** Indices (B, h, w) → images. */
    public Tensor decodeCode(Tensor indices) {
        return decode(quantize.lookup(indices));
    }

    /** The reconstruction. */
    @Override
    public Tensor forward(Tensor x) {
        return decode(encode(x).quantized());
    }

    /** The autoencoder's parameters (everything but the discriminator): what the first optimizer trains. */
    public List<Tensor> autoencoderParameters() {
        List<Tensor> out = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : namedParameters().entrySet()) if (!e.getKey().startsWith("loss.")) out.add(e.getValue());
        return out;
    }
}
