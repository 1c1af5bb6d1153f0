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
 * the step, the generator's state, the optimizer's group settings and the run's config (JSON).
 *
 * <pre>{@code
 * Checkpoint.save(dir.resolve("last.safetensors"), model, optimizer, gen, step, configJson);
 * Checkpoint c = Checkpoint.load(path);
 * c.restore(model, optimizer, true);
 * Generator gen = c.generator();
 * }</pre>
 */
public record Checkpoint(Map<String, Tensor> model, Map<String, Tensor> optimizer, long step, long[] generatorState,
                         String config, List<Map<String, Object>> groups) {
    public static final String FORMAT = "peco4j-checkpoint-1";

    public static void save(Path path, Module model, Optimizer optimizer, Generator gen, long step, String configJson)
            throws IOException {
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
        SafeTensors.writeTensors(path, meta, tensors);
    }

    @SuppressWarnings("unchecked")
    public static Checkpoint load(Path path) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(path);
        Map<String, String> meta = c.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IllegalArgumentException("checkpoint " + path + ": format is '" + meta.get("format") + "', expected '" + FORMAT + "'");
        }
        Map<String, Tensor> model = new LinkedHashMap<>(), opt = new LinkedHashMap<>();
        c.entries().forEach((n, e) -> {
            if (n.startsWith("model.")) model.put(n.substring(6), e.toTensor());
            else if (n.startsWith("optimizer.")) opt.put(n.substring(10), e.toTensor());
            else throw new IllegalArgumentException("checkpoint " + path + ": unexpected tensor '" + n + "'");
        });
        long[] gen = null;
        if (meta.containsKey("generator")) {
            String[] parts = meta.get("generator").split(":");
            gen = new long[] {Long.parseUnsignedLong(parts[0], 16), Long.parseUnsignedLong(parts[1], 16)};
        }
        List<Map<String, Object>> groups = meta.containsKey("optimizer_groups")
                ? (List<Map<String, Object>>) Json.parse(meta.get("optimizer_groups")) : List.of();
        return new Checkpoint(model, opt, Long.parseLong(meta.getOrDefault("step", "0")), gen, meta.get("config"), groups);
    }

    /** Loads the model weights (strict or not) and, when given, the optimizer's state and group settings. */
    public LoadReport restore(Module m, Optimizer o, boolean strict) {
        LoadReport r = m.loadStateDict(model, strict);
        if (o != null) {
            o.loadStateDict(optimizer, m.namedParameters());
            if (groups.size() == o.groups().size()) {
                for (int i = 0; i < groups.size(); i++) {
                    ParamGroup g = o.groups().get(i);
                    g.lr = ((Number) groups.get(i).get("lr")).doubleValue();
                    g.weightDecay = ((Number) groups.get(i).get("weight_decay")).doubleValue();
                    g.lrScale = ((Number) groups.get(i).get("lr_scale")).doubleValue();
                }
            } else if (!groups.isEmpty()) {
                throw new IllegalArgumentException("checkpoint: " + groups.size() + " optimizer groups saved, the optimizer has " + o.groups().size());
            }
        }
        return r;
    }

    /** The generator exactly where it was when the checkpoint was saved (null if none was saved). */
    public Generator generator() {
        return generatorState == null ? null : Generator.fromState(generatorState);
    }
}
