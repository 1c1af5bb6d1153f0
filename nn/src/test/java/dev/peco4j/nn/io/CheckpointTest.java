package dev.peco4j.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.Linear;
import dev.peco4j.nn.LoadReport;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.nn.Schedule;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    /** A 2-layer MLP; the Generator drives init and the data. */
    static final class Net extends Module {
        final Linear fc1, fc2;

        Net(Generator gen, int width) {
            fc1 = child("fc1", new Linear(gen, 3, width));
            fc2 = child("fc2", new Linear(gen, width, 2));
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(fc1.forward(x).gelu());
        }
    }

    private static AdamW optimizer(Net n) {
        return new AdamW(List.of(new ParamGroup("decay", List.of(n.fc1.weight, n.fc2.weight), 1e-2, 0.05),
                new ParamGroup("no_decay", List.of(n.fc1.bias, n.fc2.bias), 1e-2, 0)), AdamW.Config.DEFAULT);
    }

    /** Steps from..to of a training run: each draws its batch from gen. */
    private static void train(Net n, AdamW opt, Generator gen, int from, int to) {
        Schedule s = Schedule.cosine(1e-2, 1e-4, 20, 4);
        for (int step = from; step < to; step++) {
            opt.applySchedule(s.at(step));
            Tensor x = Tensor.randn(gen, 8, 3);
            Tensor y = Tensor.randint(gen, 0, 2, 8);
            opt.zeroGrad();
            Functional.crossEntropy(n.forward(x), y, 0.1).backward();
            opt.step();
        }
    }

    @Test
    void resumingFromACheckpointIsBitIdenticalToNotStopping() throws Exception {
        Net a = new Net(new Generator(1), 16);
        AdamW optA = optimizer(a);
        Generator genA = new Generator(99);
        train(a, optA, genA, 0, 20);

        Net b = new Net(new Generator(1), 16);
        AdamW optB = optimizer(b);
        Generator genB = new Generator(99);
        train(b, optB, genB, 0, 9);
        Path p = dir.resolve("last.safetensors");
        Checkpoint.save(p, b, optB, genB, 9, "{\"width\":16}");

        Net c = new Net(new Generator(12345), 16); // different init: everything must come from the file
        AdamW optC = optimizer(c);
        Checkpoint ck = Checkpoint.load(p);
        assertEquals(9, ck.step());
        assertEquals("{\"width\":16}", ck.config());
        assertTrue(ck.restore(c, optC, true).isClean());
        train(c, optC, ck.generator(), 9, 20);
        for (var e : a.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), c.stateDict().get(e.getKey()).toFloatArray(), e.getKey());
        }
    }

    @Test
    void loadingReportsMissingUnexpectedAndMismatchedNames() throws Exception {
        Path p = dir.resolve("small.safetensors");
        Checkpoint.save(p, new Net(new Generator(1), 4), null, null, 0, null);
        Net wider = new Net(new Generator(1), 5);
        Checkpoint ck = Checkpoint.load(p);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ck.restore(wider, null, true));
        assertTrue(e.getMessage().contains("shape mismatches [fc1.weight: checkpoint [4, 3] vs model [5, 3]"), e.getMessage());
        Map<String, Tensor> state = new java.util.LinkedHashMap<>(ck.model());
        state.remove("fc2.bias");
        state.put("head.weight", Tensor.zeros(DType.FLOAT32, 1));
        LoadReport r = new Net(new Generator(2), 4).loadStateDict(state, false);
        assertEquals(List.of("fc2.bias"), r.missing());
        assertEquals(List.of("head.weight"), r.unexpected());
        assertTrue(r.shapeMismatches().isEmpty());
    }

    /** Child process: writes a large checkpoint over the target, until it is killed. */
    public static void main(String[] args) throws Exception {
        Net big = new Net(new Generator(3), Integer.parseInt(args[1]));
        Checkpoint.save(Path.of(args[0]), big, null, null, 2, "{\"run\":\"second\"}");
    }

    @Test
    void aCrashDuringACheckpointWriteLeavesThePreviousCheckpointIntact() throws Exception {
        Path target = dir.resolve("last.safetensors");
        Net small = new Net(new Generator(1), 8);
        Checkpoint.save(target, small, null, null, 1, "{\"run\":\"first\"}");
        byte[] before = Files.readAllBytes(target);

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx3g", "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), CheckpointTest.class.getName(), target.toString(), "8000000")
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        // kill -9 as soon as the temporary file has data in it: the write is then under way
        long deadline = System.nanoTime() + 120_000_000_000L;
        boolean caught = false;
        while (System.nanoTime() < deadline && child.isAlive()) {
            try (var s = Files.list(dir)) {
                if (s.anyMatch(f -> f.getFileName().toString().endsWith(".tmp") && f.toFile().length() > 0)) {
                    caught = child.isAlive();
                    child.destroyForcibly();
                    break;
                }
            }
            Thread.sleep(1);
        }
        child.waitFor();
        assertTrue(caught, "the child finished or never wrote before it could be killed: "
                + Files.readString(dir.resolve("child.log")));
        assertArrayEquals(before, Files.readAllBytes(target), "the previous checkpoint changed");
        Checkpoint ck = Checkpoint.load(target);
        assertEquals(1, ck.step());
        assertEquals("{\"run\":\"first\"}", ck.config());
        assertTrue(ck.restore(new Net(new Generator(5), 8), null, true).isClean());
    }

    // ---------------------------------------------------------------- edited metadata (issue 9 regressions)

    /** A saved checkpoint with one metadata field replaced (or removed, for null); returns the load error. */
    private String loadWithMetadata(String key, String value) throws Exception {
        Net n = new Net(new Generator(1), 4);
        AdamW opt = optimizer(n);
        train(n, opt, new Generator(2), 0, 2);
        Path good = dir.resolve("good.safetensors"), bad = dir.resolve("edited.safetensors");
        Checkpoint.save(good, n, opt, new Generator(3), 2, "{\"width\":4}");
        SafeTensors.Contents c = SafeTensors.read(good);
        Map<String, String> meta = new java.util.LinkedHashMap<>(c.metadata());
        if (value == null) meta.remove(key);
        else meta.put(key, value);
        SafeTensors.write(bad, meta, new java.util.ArrayList<>(c.entries().values()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(bad).restore(n, opt, true));
        assertTrue(e.getMessage().startsWith("checkpoint " + bad + ": "), e.getMessage());
        return e.getMessage().substring(("checkpoint " + bad + ": ").length());
    }

    @Test
    void everyMetadataFieldIsValidatedWithTheFileAndFieldNamed() throws Exception {
        assertEquals("metadata 'step': expected a non-negative integer, found \"abc\"", loadWithMetadata("step", "abc"));
        assertEquals("metadata 'step': expected a non-negative integer, found \"-1\"", loadWithMetadata("step", "-1"));
        assertEquals("metadata 'generator': expected two hexadecimal 64-bit words 'hi:lo', found \"zz\"", loadWithMetadata("generator", "zz"));
        assertEquals("metadata 'generator': expected two hexadecimal 64-bit words 'hi:lo', found \"1:2:3\"", loadWithMetadata("generator", "1:2:3"));
        assertEquals("metadata 'format' is missing, expected \"peco4j-checkpoint-2\"", loadWithMetadata("format", null));
        assertEquals("metadata 'optimizers': expected a JSON object of optimizer names to groups, found \"[]\"", loadWithMetadata("optimizers", "[]"));
        assertEquals("metadata 'optimizers.optimizer[0]': expected an object, found the number 3", loadWithMetadata("optimizers", "{\"optimizer\":[3]}"));
        assertEquals("metadata 'optimizers.optimizer[0].lr': expected a non-negative number, found the string \"x\"",
                loadWithMetadata("optimizers", "{\"optimizer\":[{\"name\":\"decay\",\"lr\":\"x\",\"weight_decay\":0,\"lr_scale\":1}]}"));
        assertEquals("metadata 'optimizers.optimizer[0].name': expected a string, found null",
                loadWithMetadata("optimizers", "{\"optimizer\":[{\"lr\":1,\"weight_decay\":0,\"lr_scale\":1}]}"));
        assertTrue(loadWithMetadata("optimizers", "[{").startsWith("metadata 'optimizers': not valid JSON: "));
        assertEquals("1 groups saved for optimizer 'optimizer', it has 2",
                loadWithMetadata("optimizers", "{\"optimizer\":[{\"name\":\"decay\",\"lr\":1,\"weight_decay\":0,\"lr_scale\":1}]}"));
        assertEquals("metadata 'modules': expected a JSON array of module names, found \"[\"a.b\"]\"", loadWithMetadata("modules", "[\"a.b\"]"));
        assertTrue(loadWithMetadata("modules", "[\"net\"]").startsWith("unexpected tensor 'model."), "tensors of an undeclared module");
        assertEquals("metadata 'config': expected a JSON object, found an array", loadWithMetadata("config", "[]"));
        assertTrue(loadWithMetadata("config", "[".repeat(10_000)).startsWith("metadata 'config': not valid JSON: Document nesting depth"));
        assertTrue(loadWithMetadata("trainer", "{\"a\":").startsWith("metadata 'trainer': not valid JSON: "));
    }

    @Test
    void optimizerStateOfTheWrongShapeIsRefused() throws Exception {
        Net n = new Net(new Generator(1), 4);
        AdamW opt = optimizer(n);
        train(n, opt, new Generator(2), 0, 2);
        Path good = dir.resolve("good.safetensors"), bad = dir.resolve("shape.safetensors");
        Checkpoint.save(good, n, opt, null, 2, "{}");
        SafeTensors.Contents c = SafeTensors.read(good);
        java.util.List<SafeTensors.Entry> entries = new java.util.ArrayList<>();
        for (SafeTensors.Entry e : c.entries().values()) {
            entries.add(e.name().equals("optimizer.model.fc1.weight.exp_avg")
                    ? new SafeTensors.Entry(e.name(), e.dtype(), new int[] {12}, e.data()) : e);
        }
        SafeTensors.write(bad, c.metadata(), entries);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(bad).restore(n, opt, true));
        assertEquals("checkpoint " + bad + ": optimizer state 'model.fc1.weight.exp_avg' is float32 [12], expected a floating tensor of the "
                + "parameter's shape [4, 3]", e.getMessage());
    }

    @Test
    void aFileOfTheFirstFormatStillLoads() throws Exception {
        Net n = new Net(new Generator(1), 4);
        AdamW opt = optimizer(n);
        train(n, opt, new Generator(2), 0, 3);
        Path now = dir.resolve("now.safetensors"), old = dir.resolve("old.safetensors");
        Checkpoint.save(now, n, opt, null, 3, "{}");
        SafeTensors.Contents c = SafeTensors.read(now);
        java.util.List<SafeTensors.Entry> entries = new java.util.ArrayList<>();   // as format 1 named them: optimizer.<param>.<key>
        for (SafeTensors.Entry e : c.entries().values()) {
            entries.add(new SafeTensors.Entry(e.name().replaceFirst("^optimizer\\.model\\.", "optimizer."), e.dtype(), e.shape(), e.data()));
        }
        Map<String, String> meta = new java.util.LinkedHashMap<>(c.metadata());
        meta.put("format", "peco4j-checkpoint-1");
        meta.put("optimizer_groups", Json.write(((Map<?, ?>) Json.parse(meta.remove("optimizers"), "t")).get("optimizer")));
        meta.remove("modules");
        SafeTensors.write(old, meta, entries);
        Net m = new Net(new Generator(9), 4);
        AdamW mo = optimizer(m);
        assertTrue(Checkpoint.load(old).restore(m, mo, true).isClean());
        Generator g1 = new Generator(5), g2 = new Generator(5);
        train(n, opt, g1, 3, 6);
        train(m, mo, g2, 3, 6);
        for (var e : n.stateDict().entrySet()) assertArrayEquals(e.getValue().toFloatArray(), m.stateDict().get(e.getKey()).toFloatArray(), e.getKey());
    }

    @Test
    void severalModulesAndOptimizersInOneCheckpoint() throws Exception {
        Net a = new Net(new Generator(1), 4), b = new Net(new Generator(2), 3);
        AdamW oa = optimizer(a), ob = optimizer(b);
        train(a, oa, new Generator(3), 0, 2);
        train(b, ob, new Generator(4), 0, 2);
        Path p = dir.resolve("two.safetensors");
        Checkpoint.save(p, Map.of("gen", a, "disc", b), Map.of("opt_g", oa, "opt_d", ob), null, 2, "{}", "{}");
        Checkpoint ck = Checkpoint.load(p);
        assertEquals(java.util.Set.of("gen", "disc"), ck.modules().keySet());
        Net a2 = new Net(new Generator(7), 4), b2 = new Net(new Generator(8), 3);
        AdamW oa2 = optimizer(a2), ob2 = optimizer(b2);
        ck.restore(Map.of("gen", a2, "disc", b2), Map.of("opt_g", oa2, "opt_d", ob2), true);
        train(a, oa, new Generator(5), 2, 4);
        train(a2, oa2, new Generator(5), 2, 4);
        for (var e : a.stateDict().entrySet()) assertArrayEquals(e.getValue().toFloatArray(), a2.stateDict().get(e.getKey()).toFloatArray(), e.getKey());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ck.restore(Map.of("generator", a2), Map.of(), true));
        assertEquals("checkpoint " + p + ": no module 'generator' (it holds [disc, gen])", e.getMessage());
    }
}
