package dev.peco4j.tensor;

/**
 * One Adam/AdamW update's scalars, for {@link Backend#adamStep}: p ← p·(1 − lr·wd) when decoupled
 * (else g ← g + wd·p); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * p ← p − (lr / bc1) · m / (√v / √bc2 + ε), with bc1 = 1 − β₁ᵗ and bc2 = 1 − β₂ᵗ (PyTorch's order).
 */
public record AdamStep(double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled,
                       double biasCorrection1, double biasCorrection2) {}
