package dev.peco4j.peco.perceptual;

import dev.peco4j.nn.Module;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Interpolation;
import dev.peco4j.tensor.Tensor;
import java.util.List;

/**
 * A frozen network whose intermediate activations define perceptual similarity: the MobileNetV2
 * prefix, a ViT's blocks. Its {@link #features} take images as the data pipeline has them, (B, C,
 * H, W) in [0, 1], adapt them to the network ({@link Input}: channels, size, normalization) and
 * return one map per tap as (B, P, C): P positions (pixels or tokens), C channels.
 *
 * <p>The network is frozen when it is wrapped: eval mode and no parameter requires a gradient, so
 * backward allocates no gradient buffer in it, while gradients still flow through it to the images.
 *
 * <pre>{@code
 * FeatureNet net = FeatureNet.mobileNetV2(MobileNetV2.nsfwjs(tgz), MobileNetV2.DEFAULT_TAPS, 0);
 * List<Tensor> maps = net.features(images);     // 3 × (B, P, C)
 * }</pre>
 */
public interface FeatureNet {
    /** Tap outputs (B, P, C) for images (B, C, H, W) in [0, 1]. */
    List<Tensor> features(Tensor images);

    /** What the network expects: channels, an image size (0 = any) and a per-channel normalization (x − mean) / std. */
    record Input(int channels, int size, double[] mean, double[] std) {
        public Input {
            if ((channels != 1 && channels != 3) || size < 0 || mean.length != channels || std.length != channels) {
                throw new IllegalArgumentException("FeatureNet.Input: need 1 or 3 channels with a mean and std each, size >= 0");
            }
        }

        /**
         * Images in [0, 1] as the network wants them: gray repeated to 3 channels (or RGB to gray by
         * ITU-R 601 luminance), resized bilinearly (align_corners=False) when a size is set, normalized.
         */
        public Tensor adapt(Tensor x) {
            if (x.dim() != 4 || (x.size(1) != 1 && x.size(1) != 3)) throw new IllegalArgumentException("FeatureNet: images " + x.shape() + " are not (B, 1|3, H, W)");
            if (x.size(1) != channels) {
                x = channels == 3 ? x.expand(x.size(0), 3, x.size(2), x.size(3))
                        : x.narrow(1, 0, 1).mul(0.299).add(x.narrow(1, 1, 1).mul(0.587)).add(x.narrow(1, 2, 1).mul(0.114));
            }
            if (size > 0 && (x.size(2) != size || x.size(3) != size)) x = Interpolation.resize(x, size, size, Interpolation.Mode.BILINEAR, false);
            double[] m = new double[channels], s = new double[channels];
            for (int c = 0; c < channels; c++) {
                m[c] = mean[c];
                s[c] = 1 / std[c];
            }
            Tensor mt = Tensor.of(m, 1, channels, 1, 1).to(x.dtype()).to(x.device()), st = Tensor.of(s, 1, channels, 1, 1).to(x.dtype()).to(x.device());
            return x.sub(mt).mul(st);
        }
    }

    /** Eval mode, no gradients into the parameters. */
    static <M extends Module> M frozen(M m) {
        m.eval();
        m.requiresGrad(false);
        return m;
    }

    /**
     * The ImageNet layers of nsfwjs's MobileNetV2 at the named Keras layers (default
     * {@link MobileNetV2#DEFAULT_TAPS}), with Keras's preprocessing to [-1, 1]; size 0 keeps the
     * images' size (the network is convolutional up to its head).
     */
    static FeatureNet mobileNetV2(MobileNetV2 net, List<String> taps, int size) {
        frozen(net);
        Input in = new Input(3, size, new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
        return images -> net.features(in.adapt(images), taps).stream()
                .map(f -> f.flatten(2, 3).transpose(1, 2))                    // (B, C, H, W) → (B, H·W, C)
                .toList();
    }

    /** Token maps (B, N, D) after the given blocks of a ViT (cls token left out), for images normalized by mean and std. */
    public static FeatureNet vit(VisionTransformer vit, int[] blocks, double[] mean, double[] std) {
        frozen(vit);
        Input in = new Input(vit.config.inChans(), vit.config.imgSize(), mean, std);
        int[] at = blocks.clone();
        return images -> vit.forwardIntermediates(in.adapt(images), at, false, false);
    }

    /** n blocks evenly spaced over a depth, ending with the last: depth 12, n 4 → 2, 5, 8, 11. */
    public static int[] evenlySpaced(int depth, int n) {
        if (n < 1 || n > depth) throw new IllegalArgumentException("FeatureNet: cannot pick " + n + " of " + depth + " blocks");
        int[] b = new int[n];
        for (int i = 0; i < n; i++) b[i] = (i + 1) * depth / n - 1;
        return b;
    }
}
