package dev.peco4j.peco.perceptual;

import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Tensor;
import java.util.List;

/**
 * The perceptual distance between reconstructions and targets through a frozen {@link FeatureNet}:
 * for each tap l with maps φ_l (B, P, C),
 * <pre>
 *   d = Σ_l w_l · mean over the batch and the P positions of Σ_c (n(φ_l(x)) − n(φ_l(y)))²
 * </pre>
 * where n is the per-layer normalization: none; {@link Norm#UNIT} (each position's channel vector
 * scaled to unit length, as LPIPS does before its learned weights, with its eps 1e-10); or
 * {@link Norm#LAYER_NORM} (LayerNorm over C without affine, eps 1e-6: the usual choice for ViT tokens).
 *
 * <p>Gradients flow to the reconstruction only: the targets' features are computed without
 * recording, and the network's parameters are frozen.
 *
 * <pre>{@code
 * PerceptualLoss loss = new PerceptualLoss(FeatureNet.mobileNetV2(net, MobileNetV2.DEFAULT_TAPS, 0), PerceptualLoss.Norm.UNIT, null);
 * Tensor d = loss.forward(reconstruction, images);   // scalar
 * }</pre>
 */
public final class PerceptualLoss {
    public enum Norm { NONE, UNIT, LAYER_NORM }

    private final FeatureNet net;
    private final Norm norm;
    private final double[] weights;

    /** weights: one per tap, or null for 1 each. */
    public PerceptualLoss(FeatureNet net, Norm norm, double[] weights) {
        this.net = net;
        this.norm = norm;
        this.weights = weights == null ? null : weights.clone();
    }

    /** The distance (a scalar) between reconstructions x and targets y, both (B, C, H, W) in [0, 1]. */
    public Tensor forward(Tensor x, Tensor y) {
        if (!x.shape().equals(y.shape())) throw new IllegalArgumentException("PerceptualLoss: reconstruction " + x.shape() + " and target " + y.shape() + " differ");
        List<Tensor> fx = net.features(x), fy;
        try (var ignored = Autograd.noGrad()) {
            fy = net.features(y);
        }
        if (weights != null && weights.length != fx.size()) {
            throw new IllegalArgumentException("PerceptualLoss: " + weights.length + " weights for " + fx.size() + " feature maps");
        }
        Tensor total = null;
        for (int l = 0; l < fx.size(); l++) {
            Tensor d = normalize(fx.get(l)).sub(normalize(fy.get(l)).detach()).square().sum(2).mean(); // Σ_c, then mean over B and P
            if (weights != null) d = d.mul(weights[l]);
            total = total == null ? d : total.add(d);
        }
        return total;
    }

    private Tensor normalize(Tensor f) {                                                         // f (B, P, C)
        return switch (norm) {
            case NONE -> f;
            case UNIT -> f.div(f.square().sum(new int[] {2}, true).sqrt().add(1e-10));
            case LAYER_NORM -> Functional.layerNorm(f, 1, null, null, 1e-6);
        };
    }
}
