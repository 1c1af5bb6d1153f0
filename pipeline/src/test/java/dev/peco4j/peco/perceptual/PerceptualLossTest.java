package dev.peco4j.peco.perceptual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.peco4j.peco.data.Image;
import dev.peco4j.peco.data.ImageFolder;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.GradCheck;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Interpolation;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PerceptualLossTest {
    private static VisionTransformer tinyVit() {
        VisionTransformer vit = new VisionTransformer(new Generator(3), VisionTransformer.Config.of(8, 4, 8, 2, 2).withInChans(1));
        vit.to(DType.FLOAT64);
        return vit;
    }

    @Test
    void gradientsWithRespectToTheReconstructionMatchFiniteDifferencesInFloat64() {
        for (PerceptualLoss.Norm norm : PerceptualLoss.Norm.values()) {
            VisionTransformer vit = tinyVit();
            FeatureNet net = FeatureNet.vit(vit, new int[] {0, 1}, new double[] {0.3}, new double[] {0.4});
            PerceptualLoss loss = new PerceptualLoss(net, norm, new double[] {0.5, 2.0});
            Tensor target = Tensor.rand(new Generator(4), 2, 1, 6, 6).to(DType.FLOAT64);   // resized 6 → 8 on the way in
            Tensor x = Tensor.rand(new Generator(5), 2, 1, 6, 6).to(DType.FLOAT64).requiresGrad(true);
            GradCheck.Report r = GradCheck.check("perceptual " + norm, xs -> loss.forward(xs[0], target),
                    GradCheck.Options.defaults(6).withMode(GradCheck.Mode.FULL), x);
            assertTrue(r.ops().contains("sdpa") && r.ops().contains("matmul"), r.ops().toString());
            vit.namedParameters().forEach((n, p) -> assertNull(p.grad(), n + ": the frozen network has no gradient buffer"));
        }
    }

    @Test
    void inputAdaptationRepeatsGrayResizesAndNormalizes() {
        FeatureNet.Input in = new FeatureNet.Input(3, 4, new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
        Tensor gray = Tensor.full(DType.FLOAT32, 0.75, 2, 1, 2, 2);
        Tensor out = in.adapt(gray);
        assertEquals("[2, 3, 4, 4]", out.shape().toString());
        for (float v : out.toFloatArray()) assertEquals(0.5f, v, 1e-6f);                      // (0.75 − 0.5) / 0.5
        assertEquals(List.of(2, 5, 8, 11), java.util.Arrays.stream(FeatureNet.evenlySpaced(12, 4)).boxed().toList());
    }

    /**
     * On a real photograph through nsfwjs's MobileNetV2 (LPIPS-style unit normalization): more
     * Gaussian noise or more blur gives a larger distance, at every tap. The figures are printed
     * beside those of ../shared/docs/data-sources.md §3.1 (made in tfjs with other noise draws).
     */
    @Test
    void moreNoiseOrBlurIsFartherOnARealImage() throws Exception {
        Path tgz = MobileNetV2Test.data("npm/nsfwjs-4.4.0.tgz"), cat = MobileNetV2Test.data("skimage/chelsea.png");
        assumeTrue(Files.isRegularFile(tgz) && Files.isRegularFile(cat), "nsfwjs or chelsea.png not installed (bash scripts/setup-data.sh)");
        MobileNetV2 mnv2 = MobileNetV2.nsfwjs(tgz);
        Image img = ImageFolder.decode(cat, 3);
        Tensor clean = Interpolation.resize(Tensor.of(img.data(), 1, 3, img.height(), img.width()), 224, 224, Interpolation.Mode.BILINEAR, false);
        double[][] doc = {{0.42, 0.40, 0.35}, {0.93, 0.88, 0.82}, {1.29, 1.19, 1.12}, {1.55, 1.38, 1.29}};
        double[] sigmas = {0.02, 0.05, 0.1, 0.2};
        double[] previous = new double[3];
        try (var ignored = Autograd.noGrad()) {
            for (int s = 0; s < sigmas.length; s++) {
                Tensor noisy = clean.add(Tensor.randn(new Generator(s), 1, 3, 224, 224).mul(sigmas[s])).clamp(0, 1);
                double[] d = perTap(mnv2, noisy, clean);
                System.out.printf("chelsea, noise sigma %.2f: %.2f / %.2f / %.2f (data-sources: %.2f / %.2f / %.2f)%n", sigmas[s], d[0], d[1], d[2],
                        doc[s][0], doc[s][1], doc[s][2]);
                for (int t = 0; t < 3; t++) {
                    assertTrue(d[t] > previous[t], "noise " + sigmas[s] + " tap " + t + ": " + d[t] + " <= " + previous[t]);
                    assertEquals(doc[s][t], d[t], 0.1 * doc[s][t], "within 10% of the tfjs figure (another noise draw)");
                }
                previous = d;
            }
            previous = new double[3];
            for (int f : new int[] {2, 4, 8}) {                                                   // blur: down by f, back up
                Tensor small = Interpolation.resize(clean, 224 / f, 224 / f, Interpolation.Mode.BILINEAR, false);
                double[] d = perTap(mnv2, Interpolation.resize(small, 224, 224, Interpolation.Mode.BILINEAR, false), clean);
                System.out.printf("chelsea, down/up x%d: %.2f / %.2f / %.2f%n", f, d[0], d[1], d[2]);
                for (int t = 0; t < 3; t++) assertTrue(d[t] > previous[t], "blur x" + f + " tap " + t);
                previous = d;
            }
        }
    }

    private static double[] perTap(MobileNetV2 net, Tensor x, Tensor y) {
        double[] d = new double[3];
        for (int t = 0; t < 3; t++) {
            FeatureNet one = FeatureNet.mobileNetV2(net, List.of(MobileNetV2.DEFAULT_TAPS.get(t)), 0);
            d[t] = new PerceptualLoss(one, PerceptualLoss.Norm.UNIT, null).forward(x, y).item();
        }
        return d;
    }
}
