/**
 * Modules, layers, losses, initializers, optimizers, schedules and safetensors checkpoints with
 * PyTorch/timm parameter names, built on {@code dev.peco4j.tensor}. Its contents arrive with the
 * nn issue; until then layers are used through {@link dev.peco4j.tensor.Functional}.
 */
package dev.peco4j.nn;
