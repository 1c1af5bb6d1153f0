package dev.peco4j.bench;

import dev.peco4j.nn.Block;
import dev.peco4j.nn.Linear;
import dev.peco4j.tensor.Activation;
import dev.peco4j.tensor.Conv2dParams;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/**
 * The benchmarked workloads, shared by the JMH benchmarks and the comparison runner, with the FLOP
 * counts used to report GFLOP/s. PyTorch runs the same shapes in bench/compare_torch.py.
 * Letters: B batch, H heads, N tokens, D head dim, C channels.
 */
public final class Workloads {
    private Workloads() {}

    /** One timed operation and its floating-point work. */
    public interface Workload {
        void run();

        double flops();
    }

    /** C = A·B, n×n float32. */
    public static Workload sgemm(int n) {
        Generator g = new Generator(1);
        Tensor a = Tensor.randn(g, n, n), b = Tensor.randn(g, n, n);
        return new Workload() {
            public void run() {
                a.matmul(b);
            }

            public double flops() {
                return 2.0 * n * n * n;
            }
        };
    }

    /** conv 3×3, padding 1, C→C, on (B, C, S, S): forward and backward (data and weight). */
    public static Workload conv3x3(int batch, int channels, int size) {
        Generator g = new Generator(2);
        Tensor x = Tensor.randn(g, batch, channels, size, size).requiresGrad(true);
        Tensor w = Tensor.normal(g, dev.peco4j.tensor.DType.FLOAT32, 0, 0.05, channels, channels, 3, 3).requiresGrad(true);
        Tensor dy = Tensor.randn(g, batch, channels, size, size);
        Conv2dParams p = Conv2dParams.of(1, 1, 1, 1);
        return new Workload() {
            public void run() {
                x.zeroGrad();
                w.zeroGrad();
                Functional.conv2d(x, w, null, p).backward(dy);
            }

            public double flops() {
                return 3 * 2.0 * batch * channels * channels * 9 * size * size;
            }
        };
    }

    /**
     * MobileNetV2's depthwise 3×3 convolution forward and backward: 'same' at stride 1, and at stride 2
     * after the block's zero pad on the bottom and right ('valid'), as Keras and {@code MobileNetV2} do.
     */
    public static Workload depthwise(int batch, int channels, int size, int stride) {
        Generator g = new Generator(4);
        Tensor x = Tensor.randn(g, batch, channels, size, size).requiresGrad(true);
        Tensor w = Tensor.normal(g, dev.peco4j.tensor.DType.FLOAT32, 0, 0.3, channels, 1, 3, 3).requiresGrad(true);
        int out = stride == 1 ? size : size / 2;
        Tensor dy = Tensor.randn(g, batch, channels, out, out);
        Conv2dParams p = Conv2dParams.of(stride, stride == 1 ? 1 : 0, 1, channels);
        return new Workload() {
            public void run() {
                x.zeroGrad();
                w.zeroGrad();
                Tensor xi = stride == 1 ? x : x.pad(new int[] {0, 1, 0, 1}, 0);
                Functional.conv2d(xi, w, null, p).backward(dy);
            }

            public double flops() {
                return 3 * 2.0 * batch * channels * 9 * out * out;
            }
        };
    }

    /** softmax(q·kᵀ/√D)·v on (B, H, N, D), the fused op: forward and backward to q, k and v. */
    public static Workload attention(int batch, int heads, int tokens, int dim) {
        Generator g = new Generator(3);
        Tensor q = Tensor.randn(g, batch, heads, tokens, dim).requiresGrad(true);
        Tensor k = Tensor.randn(g, batch, heads, tokens, dim).requiresGrad(true);
        Tensor v = Tensor.randn(g, batch, heads, tokens, dim).requiresGrad(true);
        Tensor dout = Tensor.randn(g, batch, heads, tokens, dim);
        double scale = 1 / Math.sqrt(dim);
        return new Workload() {
            public void run() {
                q.zeroGrad();
                k.zeroGrad();
                v.zeroGrad();
                Functional.scaledDotProductAttention(q, k, v, null, null, scale).backward(dout);
            }

            public double flops() {
                return 12.0 * batch * heads * tokens * tokens * dim; // 2 products forward, 4 backward
            }
        };
    }

    /** LayerNorm over C of (B, N, C): forward and backward. */
    public static Workload layerNorm(int batch, int tokens, int channels) {
        Generator g = new Generator(4);
        Tensor x = Tensor.randn(g, batch, tokens, channels).requiresGrad(true);
        Tensor w = Tensor.ones(channels).requiresGrad(true), b = Tensor.zeros(channels).requiresGrad(true);
        Tensor dy = Tensor.randn(g, batch, tokens, channels);
        return new Workload() {
            public void run() {
                x.zeroGrad();
                w.zeroGrad();
                b.zeroGrad();
                Functional.layerNorm(x, 1, w, b, 1e-6).backward(dy);
            }

            public double flops() {
                return 0; // memory-bound: reported as time
            }
        };
    }

    /** GroupNorm (G groups, eps 1e-6, affine) of (B, C, S, S) then SiLU, as in the VQGAN's ResnetBlock: forward and backward. */
    public static Workload groupNormSilu(int batch, int channels, int size, int groups) {
        Generator g = new Generator(8);
        Tensor x = Tensor.randn(g, batch, channels, size, size).requiresGrad(true);
        Tensor w = Tensor.ones(channels).requiresGrad(true), b = Tensor.zeros(channels).requiresGrad(true);
        Tensor dy = Tensor.randn(g, batch, channels, size, size);
        return new Workload() {
            public void run() {
                x.zeroGrad();
                w.zeroGrad();
                b.zeroGrad();
                Functional.groupNorm(x, groups, w, b, 1e-6).silu().backward(dy);
            }

            public double flops() {
                return 0; // memory-bound: reported as time
            }
        };
    }

    /** GELU(x·wᵀ + b), the MLP's first layer (bias and GELU in the GEMM epilogue): forward and backward. */
    public static Workload linearGelu(int rows, int in, int out) {
        Generator g = new Generator(6);
        Tensor x = Tensor.randn(g, rows, in).requiresGrad(true);
        Linear fc = new Linear(g, in, out);
        Tensor dy = Tensor.randn(g, rows, out);
        return new Workload() {
            public void run() {
                x.zeroGrad();
                fc.zeroGrad();
                fc.forward(x, Activation.GELU).backward(dy);
            }

            public double flops() {
                return 3 * 2.0 * rows * in * out;
            }
        };
    }

    /** Softmax cross-entropy with label smoothing over a BEiT-sized codebook (8192 classes): forward and backward. */
    /**
     * The vector quantizer's code search for BEiT-B's targets (8 images × 196 patches of the f16
     * tokenizer, 256-dim, 8192 codes): argmin ‖z‖² + ‖e‖² − 2·z·eᵀ, as taming computes it; fused
     * ({@link Functional#nearestRows}), or as the separate ops it replaced (the same indices).
     */
    public static Workload nearestCode(int rows, int dim, int codes, boolean fused) {
        Generator g = new Generator(8);
        Tensor z = Tensor.randn(g, rows, dim), e = Tensor.randn(g, codes, dim);
        return new Workload() {
            public void run() {
                if (fused) {
                    Functional.nearestRows(z, e);
                } else {
                    z.square().sum(new int[] {1}, true).add(e.square().sum(1)).sub(z.matmul(e.mT()).mul(2.0)).argmin(1, false);
                }
            }

            public double flops() {
                return 2.0 * rows * dim * codes;
            }
        };
    }

    public static Workload crossEntropy(int rows, int classes) {
        Generator g = new Generator(7);
        Tensor logits = Tensor.randn(g, rows, classes).requiresGrad(true);
        Tensor target = Tensor.randint(g, 0, classes, rows);
        return new Workload() {
            public void run() {
                logits.zeroGrad();
                Functional.crossEntropy(logits, target, 0.1).backward();
            }

            public double flops() {
                return 0; // memory-bound: reported as time
            }
        };
    }

    /** One BEiT ViT block (C, H heads, LayerScale 0.1, no drop path) on (B, N, C): forward and backward. */
    public static Workload beitBlock(int batch, int tokens, int channels, int heads) {
        Generator g = new Generator(5);
        Block block = new Block(g, Block.Config.beit(channels, heads, 0, 0.1));
        Tensor x = Tensor.randn(g, batch, tokens, channels).requiresGrad(true);
        Tensor dy = Tensor.randn(g, batch, tokens, channels);
        return new Workload() {
            public void run() {
                block.zeroGrad();
                x.zeroGrad();
                block.forward(x).backward(dy);
            }

            public double flops() {
                // 4 linear layers of 12·C² per token (qkv 3C², proj C², MLP 8C²) + attention 4·N²·C; ×3 for backward
                return 3 * (2.0 * batch * tokens * 12 * channels * channels + 4.0 * batch * tokens * tokens * channels);
            }
        };
    }
}
