package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input gets an error that names the op, the shapes and what was expected. */
class ErrorMessagesTest {
    private static String message(Executable e) {
        return assertThrows(RuntimeException.class, e).getMessage();
    }

    private static final Tensor A23 = Tensor.zeros(2, 3), B45 = Tensor.zeros(4, 5);

    @Test
    void shapeErrors() {
        assertEquals("matmul: shapes [2, 3] and [4, 5] are incompatible (3 != 4)", message(() -> A23.matmul(B45)));
        assertEquals("nearestRows: expected z (N, D) and codes (K, D) with the same D and K > 0, got [2, 3] and [4, 5]",
                message(() -> Functional.nearestRows(A23, B45)));
        assertEquals("nearestRows: expected floating tensors of one dtype, got int32 and int32",
                message(() -> Functional.nearestRows(A23.to(DType.INT32), A23.to(DType.INT32))));
        assertEquals("add: shapes [2, 3] and [4, 5] cannot be broadcast (dim 0: 2 vs 4)", message(() -> A23.add(B45)));
        assertEquals("reshape: shape [4] is invalid for [2, 3] (6 elements)", message(() -> A23.reshape(4)));
        assertEquals("reshape: only one size may be -1 in [-1, -1]", message(() -> A23.reshape(-1, -1)));
        assertEquals("expand: cannot expand [2, 3] to [2, 4] (dim 1: 3 vs 4)", message(() -> A23.expand(2, 4)));
        assertEquals("permute: dim 0 repeats in [0, 0]", message(() -> A23.permute(0, 0)));
        assertEquals("sum: dim 2 is out of range for shape [2, 3] (rank 2)", message(() -> A23.sum(2)));
        assertEquals("cat: tensor 1 has shape [4, 5], tensor 0 has [2, 3] (dim 1: 5 != 3)",
                message(() -> Tensor.cat(List.of(A23, Tensor.zeros(4, 5)), 0)));
        assertEquals("matmul: both arguments need at least 1 dim, got shapes [] and [2, 3]",
                message(() -> Tensor.scalar(1, DType.FLOAT32).matmul(A23)));
        assertEquals("tensor: 5 values do not fill shape [2, 3] (6 elements)", message(() -> Tensor.of(new float[5], 2, 3)));
    }

    @Test
    void layerErrors() {
        Tensor x = Tensor.zeros(1, 3, 8, 8);
        assertEquals("conv2d: input [1, 3, 8, 8] has 3 channels but weight [4, 2, 3, 3] with groups=1 expects 2",
                message(() -> Functional.conv2d(x, Tensor.zeros(4, 2, 3, 3), null, Conv2dParams.of(1, 0, 1, 1))));
        assertEquals("conv2d: input must be (N, C, H, W), got [3, 8, 8]",
                message(() -> Functional.conv2d(Tensor.zeros(3, 8, 8), Tensor.zeros(4, 3, 3, 3), null, Conv2dParams.of(1, 0, 1, 1))));
        assertEquals("conv2d: stride must be >= 1, got 0x0", message(() -> Conv2dParams.of(0, 0, 1, 1)));
        assertTrue(message(() -> Functional.groupNorm(x, 2, null, null, 1e-5)).startsWith("group_norm: the channels (dim 1) of [1, 3, 8, 8]"));
        assertEquals("cross_entropy: target must be int32 class indices, got float32",
                message(() -> Functional.crossEntropy(A23, Tensor.zeros(2), 0)));
        assertEquals("cross_entropy: target 7 is out of range for 3 classes",
                message(() -> Functional.crossEntropy(A23, Tensor.ofInts(new int[] {0, 7}, 2), 0)));
    }

    @Test
    void indexErrors() {
        assertEquals("gather: index 3 is out of bounds for dim 1 with size 3",
                message(() -> A23.gather(1, Tensor.ofInts(new int[] {0, 3}, 2, 1))));
        assertEquals("index_select: index must be int32, got float32", message(() -> A23.indexSelect(0, Tensor.zeros(2))));
        assertEquals("select: index 5 is out of range for dim 1 of [2, 3]", message(() -> A23.select(1, 5)));
        assertEquals("get: index [2, 0] is out of bounds for [2, 3]", message(() -> A23.getDouble(2, 0)));
    }

    @Test
    void autogradErrors() {
        Tensor w = Tensor.zeros(2).requiresGrad(true);
        assertEquals("backward: called on a tensor of shape [2]; give an upstream gradient for non-scalar outputs",
                message(() -> w.mul(2.0).backward()));
        assertEquals("backward: gradient shape [3] does not match the tensor's shape [2]",
                message(() -> w.mul(2.0).backward(Tensor.zeros(3))));
        assertEquals("requiresGrad: only float tensors can require gradients, got int32",
                message(() -> Tensor.arange(3).requiresGrad(true)));
        assertEquals("exp: expected a float32 or float64 tensor, got int32 [3]", message(() -> Tensor.arange(3).exp()));
        assertEquals("requiresGrad: only leaf tensors can change it; this one was made by 'mul' (use detach() for a new leaf)",
                message(() -> w.mul(2.0).requiresGrad(false)));
        assertTrue(message(() -> Tensor.zeros(2).sum().backward()).startsWith("backward: the tensor [] does not require a gradient"));
        assertEquals("gradcheck 'f': input 0 is float32; gradient checks need float64",
                message(() -> GradCheck.check("f", xs -> xs[0], GradCheck.Options.defaults(0), w)));
    }
}
