package dev.peco4j.nn.io;

import dev.peco4j.nn.LoadReport;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Optimizer;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint in one safetensors file, written atomically: the model's state dict
 * ({@code model.<name>}), the optimizer's state ({@code optimizer.<param>.<key>}), and in the metadata
 * the step, the generator's state, the optimizer's group settings, the run's config (a JSON object)
 * and the trainer's own state (a JSON object: whatever a trainer needs to continue exactly, such as
 * the running sums of a metrics window).
 *
 * <p>Loading validates every metadata field before anything uses it; an error names the file and
 * the field and says what was expected ({@code checkpoint runs/x/last.safetensors: metadata 'step':
 * expected a non-negative integer, found "abc"}).
 *
 * <pre>{@code
 * Checkpoint.save(dir.resolve("last.safetensors"), model, optimizer, gen, step, configJson, "{}");
 * Checkpoint c = Checkpoint.load(path);
 * c.restore(model, optimizer, true);
 * Generator gen = c.generator();
 * }</pre>
 */
public record Checkpoint(String source, Map<String, Tensor> model, Map<String, Tensor> optimizer, long step, long[] generatorState,
                         String config, List<Group> groups, String trainerState) {
    public static final String FORMAT = "peco4j-checkpoint-1";

    /** One optimizer group's settings as saved. */
    public record Group(String name, double lr, double weightDecay, double lrScale) {}

    public static void save(Path path, Module model, Optimizer optimizer, Generator gen, long step, String configJson)
            throws IOException {
        save(path, model, optimizer, gen, step, configJson, "{}");
    }

    public static void save(Path path, Module model, Optimizer optimizer, Generator gen, long step, String configJson,
                            String trainerStateJson) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        model.stateDict().forEach((n, t) -> tensors.put("model." + n, t));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("step", Long.toString(step));
        if (gen != null) {
            long[] s = gen.state();
            meta.put("generator", Long.toHexString(s[0]) + ":" + Long.toHexString(s[1]));
        }
        if (optimizer != null) {
            optimizer.stateDict(model.namedParameters()).forEach((n, t) -> tensors.put("optimizer." + n, t));
            List<Object> groups = new ArrayList<>();
            for (ParamGroup g : optimizer.groups()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", g.name);
                m.put("lr", g.lr);
                m.put("weight_decay", g.weightDecay);
                m.put("lr_scale", g.lrScale);
                groups.add(m);
            }
            meta.put("optimizer_groups", Json.write(groups));
        }
        meta.put("config", configJson == null ? "{}" : configJson);
        meta.put("trainer", trainerStateJson == null ? "{}" : trainerStateJson);
        SafeTensors.writeTensors(path, meta, tensors);
    }

    public static Checkpoint load(Path path) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(path);
        String source = "checkpoint " + path;
        Map<String, String> meta = c.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IllegalArgumentException(source + ": metadata 'format' is " + quoted(meta.get("format")) + ", expected \"" + FORMAT + "\"");
        }
        Map<String, Tensor> model = new LinkedHashMap<>(), opt = new LinkedHashMap<>();
        c.entries().forEach((n, e) -> {
            if (n.startsWith("model.")) model.put(n.substring(6), tensor(source, e));
            else if (n.startsWith("optimizer.")) opt.put(n.substring(10), tensor(source, e));
            else throw new IllegalArgumentException(source + ": unexpected tensor '" + n + "' (expected model.* or optimizer.*)");
        });
        long step = step(source, meta.getOrDefault("step", "0"));
        long[] gen = meta.containsKey("generator") ? generator(source, meta.get("generator")) : null;
        List<Group> groups = meta.containsKey("optimizer_groups") ? groups(source, meta.get("optimizer_groups")) : List.of();
        String config = objectField(source, "config", meta.getOrDefault("config", "{}"));
        String trainer = objectField(source, "trainer", meta.getOrDefault("trainer", "{}"));
        return new Checkpoint(source, model, opt, step, gen, config, groups, trainer);
    }

    private static Tensor tensor(String source, SafeTensors.Entry e) {
        try {
            return e.toTensor();
        } catch (IllegalArgumentException x) {
            throw new IllegalArgumentException(source + ": " + x.getMessage(), x);
        }
    }

    private static String quoted(String v) {
        return v == null ? "missing" : "\"" + (v.length() > 40 ? v.substring(0, 40) + "..." : v) + "\"";
    }

    private static IllegalArgumentException field(String source, String name, String expected, String found) {
        return new IllegalArgumentException(source + ": metadata '" + name + "': expected " + expected + ", found " + found);
    }

    private static long step(String source, String v) {
        if (v.matches("[0-9]{1,18}")) return Long.parseLong(v);
        throw field(source, "step", "a non-negative integer", quoted(v));
    }

    private static long[] generator(String source, String v) {
        if (!v.matches("[0-9a-f]{1,16}:[0-9a-f]{1,16}")) throw field(source, "generator", "two hexadecimal 64-bit words 'hi:lo'", quoted(v));
        String[] parts = v.split(":");
        return new long[] {Long.parseUnsignedLong(parts[0], 16), Long.parseUnsignedLong(parts[1], 16)};
    }

    private static List<Group> groups(String source, String v) {
        String where = source + ": metadata 'optimizer_groups'";
        if (!(Json.parse(v, where) instanceof List<?> list)) throw field(source, "optimizer_groups", "a JSON array of groups", quoted(v));
        List<Group> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "optimizer_groups[" + i + "]";
            if (!(list.get(i) instanceof Map<?, ?> m)) throw field(source, at, "an object", Json.kind(list.get(i)));
            if (!(m.get("name") instanceof String name)) throw field(source, at + ".name", "a string", Json.kind(m.get("name")));
            out.add(new Group(name, number(source, at + ".lr", m.get("lr")), number(source, at + ".weight_decay", m.get("weight_decay")),
                    number(source, at + ".lr_scale", m.get("lr_scale"))));
        }
        return List.copyOf(out);
    }

    private static double number(String source, String name, Object v) {
        if (v instanceof Number n && n.doubleValue() >= 0) return n.doubleValue();
        throw field(source, name, "a non-negative number", Json.kind(v));
    }

    private static String objectField(String source, String name, String v) {
        Json.parseObject(v, source + ": metadata '" + name + "'");
        return v;
    }

    /**
     * Loads the model weights (strict or not) and, when given, the optimizer's state and group
     * settings; a mismatch is an error naming the checkpoint.
     */
    public LoadReport restore(Module m, Optimizer o, boolean strict) {
        try {
            LoadReport r = m.loadStateDict(model, strict);
            if (o != null) {
                if (!groups.isEmpty() && groups.size() != o.groups().size()) {
                    throw new IllegalArgumentException(groups.size() + " optimizer groups saved, the optimizer has " + o.groups().size());
                }
                o.loadStateDict(optimizer, m.namedParameters());
                for (int i = 0; i < groups.size(); i++) {
                    ParamGroup g = o.groups().get(i);
                    Group s = groups.get(i);
                    if (!s.name().equals(g.name)) throw new IllegalArgumentException("optimizer group " + i + " is '" + s.name() + "', expected '" + g.name + "'");
                    g.lr = s.lr();
                    g.weightDecay = s.weightDecay();
                    g.lrScale = s.lrScale();
                }
            }
            return r;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /** The generator exactly where it was when the checkpoint was saved (null if none was saved). */
    public Generator generator() {
        return generatorState == null ? null : Generator.fromState(generatorState);
    }

    /** The run config (a JSON object), parsed. */
    public Map<String, Object> configMap() {
        return Json.parseObject(config, source + ": metadata 'config'");
    }

    /** The trainer's state (a JSON object), parsed. */
    public Map<String, Object> trainerStateMap() {
        return Json.parseObject(trainerState, source + ": metadata 'trainer'");
    }
}
