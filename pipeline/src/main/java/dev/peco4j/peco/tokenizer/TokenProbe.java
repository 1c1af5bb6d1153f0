package dev.peco4j.peco.tokenizer;

import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.Transform;
import dev.peco4j.peco.perceptual.Probes;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How semantic a tokenizer's codes are, after the idea of PeCo's Figure 1 (a perceptually similar
 * image should get the same tokens; a pixel-similar but perceptually different one need not):
 * <ul>
 *   <li><b>shift agreement</b>: the share of code positions that keep their code when the image is
 *       shifted by a few pixels (right and down, the border replicated), compared position by
 *       position: the shift is less than one token (2 of 4 pixels by default), so each token still
 *       sees mostly the same content and needs no realignment;</li>
 *   <li><b>noise agreement</b>: the same share under Gaussian noise whose variance equals each
 *       image's shift error (the same pixel MSE in expectation, a perceptually larger change; not
 *       clamped to [0, 1], which would lower the error);</li>
 *   <li><b>bag-of-codes probe</b>: a linear classifier on each image's code histogram (K bins,
 *       normalized), trained on training images and scored on the test images.</li>
 * </ul>
 * A perceptual codebook should keep more codes under the shift than under the noise, and its
 * histograms should classify better.
 */
public final class TokenProbe {
    private TokenProbe() {}

    /** The probe's numbers; pixelMse is the mean squared pixel change of the shift (and the noise), on [0, 1] images. */
    public record Result(double shiftAgreement, double noiseAgreement, double pixelMse, double bagOfCodesAccuracy, int testImages) {}

    /** Images (B, C, H, W) in [0, 1] → codes (B, h, w). */
    public static Tensor codes(VQModel m, Tensor x01) {
        try (var ignored = Autograd.noGrad()) {
            return m.encode(x01.mul(2.0).sub(1.0)).indices();
        }
    }

    /** x shifted right and down by s pixels, the first row and column repeated into the gap. */
    public static Tensor shift(Tensor x, int s) {
        int h = x.size(2), w = x.size(3);
        return x.indexSelect(2, shiftIndex(h, s)).indexSelect(3, shiftIndex(w, s));
    }

    private static Tensor shiftIndex(int n, int s) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = Math.max(0, i - s);
        return Tensor.ofInts(idx, n);
    }

    /** The probe of tokenizer m on images seen through view (its input size; see {@link TokenizerTrainer.Trained#view}). */
    public static Result run(VQModel m, Transform view, Dataset train, Dataset test, int shift, int probeEpochs, long seed) {
        m.eval();
        int k = m.config.nEmbed();
        long same = 0, sameNoise = 0, positions = 0;
        double mse = 0;
        List<Tensor> hist = new ArrayList<>();
        int[] labels = new int[0];
        Generator noise = Generator.derive(seed, 51);
        try (DataLoader dl = new DataLoader(test, view, seed, DataLoader.Config.eval(256)); DataLoader.Epoch it = dl.epoch(0, 0);
             var ignored = Autograd.noGrad()) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                if (b.size() == 0) continue;
                Tensor x = b.images(), xs = shift(x, shift);
                Tensor err = xs.sub(x).square().flatten(1, 3).mean(1);                                  // (B) per-image MSE
                Tensor sigma = err.sqrt().reshape(x.size(0), 1, 1, 1);
                Tensor xn = x.add(Tensor.randn(noise, x.shape().dims()).to(x.dtype()).mul(sigma));
                int[] c = codes(m, x).toIntArray(), cs = codes(m, xs).toIntArray(), cn = codes(m, xn).toIntArray();
                for (int i = 0; i < c.length; i++) {
                    if (c[i] == cs[i]) same++;
                    if (c[i] == cn[i]) sameNoise++;
                }
                positions += c.length;
                mse += err.sum().item();
                hist.add(histograms(c, x.size(0), k));
                labels = concat(labels, b.labels().toIntArray());
            }
        }
        Probes.Features testF = new Probes.Features(Tensor.cat(hist, 0), labels);
        Probes.Features trainF = histogramFeatures(m, view, train, seed);
        double acc = Probes.linearProbe(trainF, testF, train.classes().size(), probeEpochs, seed).accuracy();
        return new Result((double) same / positions, (double) sameNoise / positions, mse / labels.length, acc, labels.length);
    }

    /** Each image's code histogram over its images' codes (B, K), normalized to sum 1. */
    static Tensor histograms(int[] codes, int images, int k) {
        float[] h = new float[images * k];
        int per = codes.length / images;
        for (int i = 0; i < codes.length; i++) h[(i / per) * k + codes[i]] += 1f / per;
        return Tensor.of(h, images, k);
    }

    static Probes.Features histogramFeatures(VQModel m, Transform view, Dataset d, long seed) {
        try (DataLoader dl = new DataLoader(d, view, seed, DataLoader.Config.eval(256))) {
            return Probes.embed(dl, x -> histograms(codes(m, x).toIntArray(), x.size(0), m.config.nEmbed()));
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
