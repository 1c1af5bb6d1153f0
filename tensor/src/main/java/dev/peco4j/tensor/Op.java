package dev.peco4j.tensor;

import java.util.Locale;

/**
 * The closed set of differentiable primitives. Every graph node made by the library names one of
 * these (custom functions name themselves). Everything else in the tensor API — mean, var,
 * layer norm's affine form, linear, stack, split, dropout, ... — is composed from them
 * and needs no backward of its own.
 *
 * <p>Each primitive's forward and backward sit together in one file per family, named below.
 * A test fails when a primitive has no float64 gradient property, so none can land without one.
 */
public enum Op {
    // UnaryOps: y = f(x), dx = g * f'(x, y)
    NEG, EXP, LOG, SQRT, RSQRT, ABS, SIGN, SIN, COS, TANH, SIGMOID, RELU, RELU6, LEAKY_RELU, GELU, SILU,
    CLAMP, POW_SCALAR,
    // BinaryOps: broadcasting, gradients summed back to each input's shape
    ADD, SUB, MUL, DIV, POW, MINIMUM, MAXIMUM, WHERE, CAST,
    // ReduceOps
    SUM, AMAX, SOFTMAX, LOG_SOFTMAX,
    // ViewOps (movement): each backward is the inverse movement
    RESHAPE, PERMUTE, EXPAND, SLICE, FLIP, PAD, COPY, CAT,
    // MatmulOps: products; linear = act(x·wᵀ + b) with bias and activation in the GEMM epilogue
    MATMUL, LINEAR,
    // NormOps: fused kernel pairs, forward saving mean and rstd per row (group norm: per image and group, with a per-channel affine)
    LAYER_NORM, GROUP_NORM,
    // AttentionOps: softmax(q·kᵀ·scale + bias, masked)·v, blocked with an online softmax
    SDPA,
    // LossOps: softmax cross-entropy with label smoothing and an ignored class, one fused kernel pair
    CROSS_ENTROPY,
    // IndexOps
    GATHER, INDEX_SELECT, SCATTER_ADD, INDEX_ADD,
    // ConvOps and PoolOps
    CONV2D, CONV_TRANSPOSE2D, AVG_POOL2D, MAX_POOL2D, ADAPTIVE_AVG_POOL2D;

    private final String opName = name().toLowerCase(Locale.ROOT);

    /** The name used in graphs and error messages, e.g. {@code "log_softmax"}. */
    public String opName() {
        return opName;
    }
}
