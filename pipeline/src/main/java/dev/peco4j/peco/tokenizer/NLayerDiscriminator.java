package dev.peco4j.peco.tokenizer;

import dev.peco4j.nn.Activations;
import dev.peco4j.nn.BatchNorm2d;
import dev.peco4j.nn.Conv2d;
import dev.peco4j.nn.Init;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Sequential;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/**
 * pix2pix's PatchGAN discriminator as taming uses it ({@code NLayerDiscriminator}, BatchNorm, no
 * ActNorm): 4×4 convs, the first n stride 2, then one stride 1 and a 1-channel logit map, LeakyReLU
 * 0.2 after each but the last, BatchNorm after each but the first and the last (those convs have no
 * bias). Widths ndf·min(2ⁿ, 8). Init as taming's weights_init: conv weights N(0, 0.02), BatchNorm
 * weights N(1, 0.02) and biases 0 (the conv biases keep PyTorch's default).
 */
public final class NLayerDiscriminator extends Module {
    final Sequential main;

    public NLayerDiscriminator(Generator gen, int inChannels, int ndf, int layers) {
        main = child("main", new Sequential());
        main.add(conv(gen, inChannels, ndf, 2, true)).add(Activations.leakyRelu(0.2));
        int mult = 1;
        for (int n = 1; n <= layers; n++) {
            int prev = mult;
            mult = Math.min(1 << n, 8);
            main.add(conv(gen, ndf * prev, ndf * mult, n < layers ? 2 : 1, false)).add(batchNorm(gen, ndf * mult)).add(Activations.leakyRelu(0.2));
        }
        main.add(conv(gen, ndf * mult, 1, 1, true));
    }

    private static Conv2d conv(Generator gen, int in, int out, int stride, boolean bias) {
        Conv2d c = new Conv2d(gen, Conv2d.Config.of(in, out, 4).stride(stride).padding(1).bias(bias));
        try (var ignored = Autograd.noGrad()) {
            Init.normal(c.weight, gen, 0, 0.02);
        }
        return c;
    }

    private static BatchNorm2d batchNorm(Generator gen, int channels) {
        BatchNorm2d bn = new BatchNorm2d(channels);
        try (var ignored = Autograd.noGrad()) {
            Init.normal(bn.weight, gen, 1, 0.02);
            Init.zeros(bn.bias);
        }
        return bn;
    }

    /** Logits (B, 1, h, w), one per overlapping patch. */
    @Override
    public Tensor forward(Tensor x) {
        return main.forward(x);
    }
}
