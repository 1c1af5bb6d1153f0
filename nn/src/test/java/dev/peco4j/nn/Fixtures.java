package dev.peco4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The PyTorch fixtures under src/test/resources/fixtures (made by src/test/python/make_fixtures.py). */
final class Fixtures {
    private Fixtures() {}

    static Path path(String name) {
        try {
            var url = Fixtures.class.getResource("/fixtures/" + name + ".safetensors");
            if (url == null) throw new IllegalStateException("missing fixture " + name + "; regenerate with make_fixtures.py");
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static SafeTensors.Contents read(String name) {
        try {
            return SafeTensors.read(path(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Tensors of a fixture whose names start with prefix, prefix removed. */
    static Map<String, Tensor> withPrefix(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((n, t) -> {
            if (n.startsWith(prefix)) out.put(n.substring(prefix.length()), t);
        });
        return out;
    }

    /**
     * "Within rtol relative": |a − b| ≤ rtol·(|b| + 1e-2·max|b|) elementwise. The small share of the
     * tensor's largest magnitude keeps elements that are near zero by cancellation from demanding a
     * relative accuracy no float32 computation has.
     */
    static void assertClose(Tensor expected, Tensor actual, double rtol, String what) {
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        double scale = 0;
        for (double v : e) scale = Math.max(scale, Math.abs(v));
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(a[i] - e[i]) / (Math.abs(e[i]) + 1e-2 * scale + 1e-30);
            if (err > worst) {
                worst = err;
                at = i;
            }
        }
        if (worst > rtol) {
            throw new AssertionError(what + ": relative error " + worst + " > " + rtol + " at element " + at
                    + " (expected " + e[at] + ", got " + a[at] + ")");
        }
    }
}
