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
 * A training checkpoint in one safetensors file, written atomically: the state dicts of the run's
 * modules ({@code <module>.<name>}), the state of its optimizers ({@code <optimizer>.<module>.<param>.<key>}),
 * and in the metadata the module names, each optimizer's group settings, the step, the generator's
 * state, the run's config (a JSON object) and the trainer's own state (a JSON object: whatever a
 * trainer needs to continue exactly, such as the running sums of a metrics window). A classifier has
 * one module "model" and one optimizer "optimizer"; MoCo v3 or a VQGAN have several.
 *
 * <p>Loading validates every metadata field before anything uses it; an error names the file and
 * the field and says what was expected ({@code checkpoint runs/x/last.safetensors: metadata 'step':
 * expected a non-negative integer, found "abc"}). Files of the first format (one model, one
 * optimizer, {@code optimizer.<param>.<key>}) still load.
 *
 * <pre>{@code
 * Checkpoint.save(dir.resolve("last.safetensors"), Map.of("model", model), Map.of("optimizer", opt), gen, step, configJson, "{}");
 * Checkpoint c = Checkpoint.load(path);
 * c.restore(Map.of("model", model), Map.of("optimizer", opt), true);
 * }</pre>
 */
public record Checkpoint(String source, Map<String, Map<String, Tensor>> modules, Map<String, Map<String, Tensor>> optimizers, long step,
                         long[] generatorState, String config, Map<String, List<Group>> groups, String trainerState) {
    public static final String FORMAT = "peco4j-checkpoint-2";
    /** The first format: one model, one optimizer. Read, no longer written. */
    static final String FORMAT_1 = "peco4j-checkpoint-1";

    /** One optimizer group's settings as saved. */
    public record Group(String name, double lr, double weightDecay, double lrScale) {}

    /** One model and (when not null) one optimizer, as "model" and "optimizer". */
    public static void save(Path path, Module model, Optimizer optimizer, Generator gen, long step, String configJson) throws IOException {
        save(path, model, optimizer, gen, step, configJson, "{}");
    }

    public static void save(Path path, Module model, Optimizer optimizer, Generator gen, long step, String configJson,
                            String trainerStateJson) throws IOException {
        save(path, Map.of("model", model), optimizer == null ? Map.of() : Map.of("optimizer", optimizer), gen, step, configJson, trainerStateJson);
    }

    /** Modules and optimizers by name (names are the tensors' first segment and must not contain '.'). */
    public static void save(Path path, Map<String, Module> modules, Map<String, Optimizer> optimizers, Generator gen, long step,
                            String configJson, String trainerStateJson) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>(), params = new LinkedHashMap<>();
        for (var m : new java.util.TreeMap<>(modules).entrySet()) {
            checkName(m.getKey(), modules, optimizers);
            m.getValue().stateDict().forEach((n, t) -> tensors.put(m.getKey() + "." + n, t));
            m.getValue().namedParameters().forEach((n, t) -> params.put(m.getKey() + "." + n, t));
        }
        Map<String, Object> groups = new LinkedHashMap<>();
        for (var o : new java.util.TreeMap<>(optimizers).entrySet()) {
            checkName(o.getKey(), modules, optimizers);
            o.getValue().stateDict(params).forEach((n, t) -> tensors.put(o.getKey() + "." + n, t));
            List<Object> list = new ArrayList<>();
            for (ParamGroup g : o.getValue().groups()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", g.name);
                m.put("lr", g.lr);
                m.put("weight_decay", g.weightDecay);
                m.put("lr_scale", g.lrScale);
                list.add(m);
            }
            groups.put(o.getKey(), list);
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("step", Long.toString(step));
        if (gen != null) {
            long[] s = gen.state();
            meta.put("generator", Long.toHexString(s[0]) + ":" + Long.toHexString(s[1]));
        }
        meta.put("modules", Json.write(List.copyOf(new java.util.TreeSet<>(modules.keySet()))));
        meta.put("optimizers", Json.write(groups));
        meta.put("config", configJson == null ? "{}" : configJson);
        meta.put("trainer", trainerStateJson == null ? "{}" : trainerStateJson);
        SafeTensors.writeTensors(path, meta, tensors);
    }

    private static void checkName(String name, Map<String, ?> modules, Map<String, ?> optimizers) {
        if (name.isEmpty() || name.contains(".") || (modules.containsKey(name) && optimizers.containsKey(name))) {
            throw new IllegalArgumentException("checkpoint: '" + name + "' cannot name a module or optimizer (empty, dotted or used twice)");
        }
    }

    public static Checkpoint load(Path path) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(path);
        String source = "checkpoint " + path;
        Map<String, String> meta = c.metadata();
        String format = meta.get("format");
        if (!FORMAT.equals(format) && !FORMAT_1.equals(format)) {
            throw new IllegalArgumentException(source + ": metadata 'format' is " + quoted(format) + ", expected \"" + FORMAT + "\"");
        }
        boolean first = FORMAT_1.equals(format);
        List<String> moduleNames = first ? List.of("model") : names(source, meta.getOrDefault("modules", "[]"));
        Map<String, List<Group>> groups = first
                ? (meta.containsKey("optimizer_groups") ? Map.of("optimizer", groups(source, "optimizer_groups", meta.get("optimizer_groups"))) : Map.of())
                : optimizerGroups(source, meta.getOrDefault("optimizers", "{}"));
        Map<String, Map<String, Tensor>> modules = new LinkedHashMap<>(), optimizers = new LinkedHashMap<>();
        moduleNames.forEach(m -> modules.put(m, new LinkedHashMap<>()));
        groups.keySet().forEach(o -> optimizers.put(o, new LinkedHashMap<>()));
        if (first && !optimizers.containsKey("optimizer") && c.entries().keySet().stream().anyMatch(n -> n.startsWith("optimizer."))) {
            optimizers.put("optimizer", new LinkedHashMap<>());
        }
        c.entries().forEach((n, e) -> {
            int dot = n.indexOf('.');
            String head = dot < 0 ? n : n.substring(0, dot), rest = n.substring(dot + 1);
            if (dot > 0 && modules.containsKey(head)) modules.get(head).put(rest, tensor(source, e));
            else if (dot > 0 && optimizers.containsKey(head)) optimizers.get(head).put(first ? "model." + rest : rest, tensor(source, e));
            else throw new IllegalArgumentException(source + ": unexpected tensor '" + n + "' (modules " + modules.keySet() + ", optimizers "
                        + optimizers.keySet() + ")");
        });
        long step = step(source, meta.getOrDefault("step", "0"));
        long[] gen = meta.containsKey("generator") ? generator(source, meta.get("generator")) : null;
        String config = objectField(source, "config", meta.getOrDefault("config", "{}"));
        String trainer = objectField(source, "trainer", meta.getOrDefault("trainer", "{}"));
        return new Checkpoint(source, modules, optimizers, step, gen, config, groups, trainer);
    }

    /** The tensors of the module "model" (a classifier's checkpoint). */
    public Map<String, Tensor> model() {
        return modules.getOrDefault("model", Map.of());
    }

    private static List<String> names(String source, String v) {
        if (!(Json.parse(v, source + ": metadata 'modules'") instanceof List<?> l) || !l.stream().allMatch(x -> x instanceof String s && !s.contains("."))) {
            throw field(source, "modules", "a JSON array of module names", quoted(v));
        }
        return l.stream().map(String.class::cast).toList();
    }

    private static Map<String, List<Group>> optimizerGroups(String source, String v) {
        if (!(Json.parse(v, source + ": metadata 'optimizers'") instanceof Map<?, ?> m)) {
            throw field(source, "optimizers", "a JSON object of optimizer names to groups", quoted(v));
        }
        Map<String, List<Group>> out = new LinkedHashMap<>();
        for (var e : m.entrySet()) {
            String name = (String) e.getKey();
            if (name.contains(".")) throw field(source, "optimizers", "names without '.'", "\"" + name + "\"");
            out.put(name, groups(source, "optimizers." + name, e.getValue()));
        }
        return out;
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

    private static List<Group> groups(String source, String field, String v) {
        return groups(source, field, Json.parse(v, source + ": metadata '" + field + "'"));
    }

    private static List<Group> groups(String source, String field, Object parsed) {
        if (!(parsed instanceof List<?> list)) throw field(source, field, "a JSON array of groups", Json.kind(parsed));
        List<Group> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = field + "[" + i + "]";
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

    /** Restores the module "model" and, when given, the optimizer "optimizer" (a classifier's checkpoint). */
    public LoadReport restore(Module m, Optimizer o, boolean strict) {
        return restore(Map.of("model", m), o == null ? Map.of() : Map.of("optimizer", o), strict).get("model");
    }

    /**
     * Loads each module's weights (strict or not) and each given optimizer's state and group
     * settings; a module or optimizer the file lacks, or a mismatch, is an error naming the checkpoint.
     * Returns the load report of each module.
     */
    public Map<String, LoadReport> restore(Map<String, Module> into, Map<String, Optimizer> opts, boolean strict) {
        try {
            Map<String, LoadReport> reports = new LinkedHashMap<>();
            Map<String, Tensor> params = new LinkedHashMap<>();
            for (var m : into.entrySet()) {
                if (!modules.containsKey(m.getKey())) throw new IllegalArgumentException("no module '" + m.getKey() + "' (it holds " + modules.keySet() + ")");
                reports.put(m.getKey(), m.getValue().loadStateDict(modules.get(m.getKey()), strict));
                m.getValue().namedParameters().forEach((n, t) -> params.put(m.getKey() + "." + n, t));
            }
            for (var o : opts.entrySet()) {
                Optimizer opt = o.getValue();
                List<Group> saved = groups.get(o.getKey());
                if (saved == null) throw new IllegalArgumentException("no optimizer '" + o.getKey() + "' (it holds " + groups.keySet() + ")");
                if (saved.size() != opt.groups().size()) {
                    throw new IllegalArgumentException(saved.size() + " groups saved for optimizer '" + o.getKey() + "', it has " + opt.groups().size());
                }
                opt.loadStateDict(optimizers.getOrDefault(o.getKey(), Map.of()), params);
                for (int i = 0; i < saved.size(); i++) {
                    ParamGroup g = opt.groups().get(i);
                    Group s = saved.get(i);
                    if (!s.name().equals(g.name)) throw new IllegalArgumentException("optimizer group " + i + " is '" + s.name() + "', expected '" + g.name + "'");
                    g.lr = s.lr();
                    g.weightDecay = s.weightDecay();
                    g.lrScale = s.lrScale();
                }
            }
            return reports;
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
