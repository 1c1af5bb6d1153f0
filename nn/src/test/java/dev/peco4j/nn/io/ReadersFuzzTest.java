package dev.peco4j.nn.io;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.Linear;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import dev.peco4j.tensor.testing.Fuzz;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The nn module's readers under the mutation fuzzer ({@link Fuzz}): safetensors files, training
 * checkpoints (loaded and restored into a model and optimizer) and JSON documents. A mutated input
 * may only be refused with an IllegalArgumentException or IOException naming it, or read. None of
 * these formats carries a checksum, so what reads is accepted as it is. A few hundred mutations per
 * reader here; {@code scripts/fuzz.sh} runs 10,000 under {@code -Xmx256m}.
 */
class ReadersFuzzTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void heap() {
        System.out.printf("fuzz heap: %d MB%n", Runtime.getRuntime().maxMemory() >> 20);
    }

    private static final java.util.function.BiPredicate<Throwable, String> DOCUMENTED =
            Fuzz.namedExceptions(IllegalArgumentException.class, IOException.class);

    /** A small model whose checkpoint holds weights, AdamW state, groups, a generator and a config. */
    static final class Net extends Module {
        final Linear fc1, fc2;

        Net() {
            Generator g = new Generator(1);
            fc1 = child("fc1", new Linear(g, 3, 4));
            fc2 = child("fc2", new Linear(g, 4, 2));
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(fc1.forward(x).gelu());
        }
    }

    static AdamW optimizer(Net n) {
        return new AdamW(List.of(new ParamGroup("decay", List.of(n.fc1.weight, n.fc2.weight), 1e-2, 0.05),
                new ParamGroup("no_decay", List.of(n.fc1.bias, n.fc2.bias), 1e-2, 0)), AdamW.Config.DEFAULT);
    }

    private byte[] checkpointBytes() throws IOException {
        Net n = new Net();
        AdamW opt = optimizer(n);
        Generator g = new Generator(2);
        opt.zeroGrad();
        Functional.crossEntropy(n.forward(Tensor.randn(g, 4, 3)), Tensor.randint(g, 0, 2, 4), 0.1).backward();
        opt.step();
        Path p = dir.resolve("valid.safetensors");
        Checkpoint.save(p, n, opt, g, 1, "{\"classifier\":{\"width\":4,\"lr\":0.01}}", "{\"window\":{\"loss_sum\":0.5,\"correct\":1,\"seen\":4}}");
        return Files.readAllBytes(p);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void safetensors() throws Exception {
        var target = new Fuzz.Target<>("safetensors",
                (bytes, name) -> SafeTensors.parse(MemorySegment.ofArray(bytes), name).tensors(), DOCUMENTED, Fuzz.Checker.anything());
        System.out.println(Fuzz.run(target, checkpointBytes(), Fuzz.mutations(300), 9).assertClean());
    }

    @Test
    void checkpoint() throws Exception {
        var target = new Fuzz.Target<>("checkpoint", (bytes, name) -> {
            Path p = write(name, bytes);
            try {
                Net n = new Net();
                Checkpoint c = Checkpoint.load(p);
                c.restore(n, optimizer(n), true);
                c.configMap();
                c.trainerStateMap();
                return c.generator();
            } finally {
                Files.deleteIfExists(p);
            }
        }, DOCUMENTED, Fuzz.Checker.anything());
        System.out.println(Fuzz.run(target, checkpointBytes(), Fuzz.mutations(300), 9).assertClean());
    }

    @Test
    void json() throws Exception {
        byte[] config = ("{\"classifier\":{\"data\":\"subset\",\"seed\":0,\"epochs\":10,\"lr\":0.001,\"augment\":true,"
                + "\"groups\":[{\"name\":\"decay\",\"lr\":1.0e-3,\"weight_decay\":0.05}],\"note\":\"caf\\u00e9 \u00e9\"}}").getBytes(StandardCharsets.UTF_8);
        var target = new Fuzz.Target<Map<String, Object>>("json", Json::parseObject, DOCUMENTED, Fuzz.Checker.anything());
        System.out.println(Fuzz.run(target, config, Fuzz.mutations(300), 9).assertClean());
    }
}
