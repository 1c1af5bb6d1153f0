package dev.peco4j.nn;

import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.LossOps;
import dev.peco4j.tensor.Tensor;

/**
 * Losses: cross-entropy over class indices (label smoothing, ignored targets) or soft targets
 * (mixup/cutmix), MSE, L1, the GAN losses VQGAN uses (hinge and softplus "vanilla"), and InfoNCE.
 * Letters: N batch, C classes, D feature dim.
 */
public final class Losses {
    private Losses() {}

    /** Mean cross-entropy of logits (N, C, …) against int32 targets, with label smoothing. */
    public static Tensor crossEntropy(Tensor logits, Tensor target, double labelSmoothing) {
        return Functional.crossEntropy(logits, target, labelSmoothing);
    }

    /** Mean over N of Σ_c −target·log softmax(logits); target (N, C) rows are probabilities (timm's SoftTargetCrossEntropy). */
    public static Tensor softTargetCrossEntropy(Tensor logits, Tensor target) {
        if (!logits.shape().equals(target.shape()) || logits.dim() != 2) {
            throw new IllegalArgumentException("soft target cross-entropy: logits " + logits.shape() + " and target "
                    + target.shape() + " must both be (N, C)");
        }
        return target.neg().mul(logits.logSoftmax(-1)).sum(-1).mean();
    }

    public static Tensor mse(Tensor input, Tensor target) {
        return Functional.mseLoss(input, target, LossOps.Reduction.MEAN);
    }

    public static Tensor l1(Tensor input, Tensor target) {
        return Functional.l1Loss(input, target, LossOps.Reduction.MEAN);
    }

    /** softplus(x) = log(1 + eˣ), computed as relu(x) + log(1 + e^−|x|) so it never overflows. */
    public static Tensor softplus(Tensor x) {
        return x.relu().add(x.abs().neg().exp().add(1.0).log());
    }

    /** Hinge discriminator loss (VQGAN): ½·(mean relu(1 − real) + mean relu(1 + fake)). */
    public static Tensor hingeDiscriminator(Tensor logitsReal, Tensor logitsFake) {
        return logitsReal.neg().add(1.0).relu().mean().add(logitsFake.add(1.0).relu().mean()).mul(0.5);
    }

    /** Softplus ("vanilla") discriminator loss (VQGAN): ½·(mean softplus(−real) + mean softplus(fake)). */
    public static Tensor softplusDiscriminator(Tensor logitsReal, Tensor logitsFake) {
        return softplus(logitsReal.neg()).mean().add(softplus(logitsFake).mean()).mul(0.5);
    }

    /** The generator's adversarial loss as VQGAN uses it with either discriminator loss: −mean(fake). */
    public static Tensor generatorAdversarial(Tensor logitsFake) {
        return logitsFake.mean().neg();
    }

    /** The non-saturating generator loss: mean softplus(−fake). */
    public static Tensor generatorNonSaturating(Tensor logitsFake) {
        return softplus(logitsFake.neg()).mean();
    }

    /**
     * InfoNCE between two views (MoCo v3's contrastive loss without its 2τ factor): q and k (N, D) are
     * L2-normalized, logits = q·kᵀ/τ, and row i's positive is column i.
     */
    public static Tensor infoNce(Tensor q, Tensor k, double temperature) {
        if (q.dim() != 2 || !q.shape().equals(k.shape())) {
            throw new IllegalArgumentException("InfoNCE: q " + q.shape() + " and k " + k.shape() + " must both be (N, D)");
        }
        if (!(temperature > 0)) throw new IllegalArgumentException("InfoNCE: temperature must be > 0, got " + temperature);
        Tensor qn = q.div(q.norm(2, new int[] {1}, true).clamp(1e-12, Double.POSITIVE_INFINITY));
        Tensor kn = k.div(k.norm(2, new int[] {1}, true).clamp(1e-12, Double.POSITIVE_INFINITY));
        Tensor logits = qn.matmul(kn.mT()).div(temperature);                 // (N, N)
        return Functional.crossEntropy(logits, Tensor.arange(q.size(0)).to(q.device()), 0);
    }
}
