package dev.peco4j.peco;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;

/** The pipeline's PyTorch fixtures (src/test/resources/fixtures, made by nn/src/test/python/make_fixtures.py) and their comparison. */
public final class PyTorchFixtures {
    private PyTorchFixtures() {}

    public static Map<String, Tensor> read(String name) throws Exception {
        return SafeTensors.read(Path.of(PyTorchFixtures.class.getResource("/fixtures/" + name + ".safetensors").toURI())).tensors();
    }

    /** |a − b| ≤ rtol·(|b| + 1e-2·max|b|) elementwise, as the nn parity tests. */
    public static void assertClose(Tensor expected, Tensor actual, double rtol, String what) {
        assertClose(expected, actual, rtol, 0, what);
    }

    /** The same, or |a − b| ≤ atol (for values that are zero up to rounding, such as gradients that cancel exactly in theory). */
    public static void assertClose(Tensor expected, Tensor actual, double rtol, double atol, String what) {
        assertEquals(expected.shape(), actual.shape(), what);
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        double scale = 0;
        for (double v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(a[i] - e[i]) / (Math.abs(e[i]) + 1e-2 * scale + 1e-30);
            assertTrue(err <= rtol || Math.abs(a[i] - e[i]) <= atol, what + ": element " + i + " is " + a[i] + ", PyTorch " + e[i] + " (relative error " + err + ")");
        }
    }
}
