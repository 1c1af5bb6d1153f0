package dev.peco4j.peco.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A run config (a record) as the JSON map stored in config.json and in checkpoints, and back: one
 * key per record component, its name in snake_case ({@code warmupEpochs} → {@code warmup_epochs}), in
 * component order. Reading checks every field's presence and type and names the config and the
 * field; the record's own constructor then checks the values. Also: comparing a saved config with a
 * new one on resume.
 *
 * <pre>{@code
 * Map<String, Object> m = ConfigFields.toMap(cfg);                       // {"data": "subset", "seed": 0, ...}
 * ClassifierConfig back = ConfigFields.fromMap(ClassifierConfig.class, m, "classifier config");
 * }</pre>
 */
public final class ConfigFields {
    private ConfigFields() {}

    /** camelCase → snake_case: stopGradConv1 → stop_grad_conv1. */
    static String key(String component) {
        return component.replaceAll("([A-Z])", "_$1").toLowerCase(java.util.Locale.ROOT);
    }

    /** The record's components by their snake_case names, in order. */
    public static Map<String, Object> toMap(Record r) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        try {
            for (var c : r.getClass().getRecordComponents()) m.put(key(c.getName()), c.getAccessor().invoke(r));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        return m;
    }

    /** The record of type t from its {@link #toMap} form; what names the config in errors ("classifier config"). */
    public static <R extends Record> R fromMap(Class<R> t, Map<String, Object> m, String what) {
        var components = t.getRecordComponents();
        Object[] args = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        for (int i = 0; i < components.length; i++) {
            String k = key(components[i].getName());
            Class<?> type = types[i] = components[i].getType();
            if (type == String.class) args[i] = string(m, k, what);
            else if (type == boolean.class) args[i] = bool(m, k, what);
            else if (type == int.class) args[i] = integer(m, k, what);
            else if (type == long.class) args[i] = number(m, k, what).longValue();
            else if (type == double.class) args[i] = number(m, k, what).doubleValue();
            else throw new IllegalStateException(t.getSimpleName() + "." + components[i].getName() + ": type " + type + " has no JSON form here");
        }
        try {
            return t.getDeclaredConstructor(types).newInstance(args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String string(Map<String, Object> m, String k, String what) {
        if (!(m.get(k) instanceof String s)) throw new IllegalArgumentException(what + ": '" + k + "' is missing or not a string: " + m.get(k));
        return s;
    }

    public static boolean bool(Map<String, Object> m, String k, String what) {
        if (!(m.get(k) instanceof Boolean b)) throw new IllegalArgumentException(what + ": '" + k + "' is missing or not a boolean: " + m.get(k));
        return b;
    }

    public static int integer(Map<String, Object> m, String k, String what) {
        if (!(m.get(k) instanceof Number v) || !(v instanceof Long || v instanceof Integer) || v.longValue() != v.intValue()) {
            throw new IllegalArgumentException(what + ": '" + k + "' is missing or not a 32-bit integer: " + m.get(k));
        }
        return v.intValue();
    }

    public static Number number(Map<String, Object> m, String k, String what) {
        if (!(m.get(k) instanceof Number n)) throw new IllegalArgumentException(what + ": '" + k + "' is missing or not a number: " + m.get(k));
        return n;
    }

    /**
     * The run config a checkpoint stores under {@code key} (e.g. "classifier"), read as a t; errors
     * name the file and the field.
     */
    public static <R extends Record> R saved(dev.peco4j.nn.io.Checkpoint c, java.nio.file.Path file, String key, Class<R> t) {
        return saved(c, file, key, t, Map.of());
    }

    /** {@link #saved(dev.peco4j.nn.io.Checkpoint, java.nio.file.Path, String, Class)} with values for fields added after a checkpoint was written. */
    public static <R extends Record> R saved(dev.peco4j.nn.io.Checkpoint c, java.nio.file.Path file, String key, Class<R> t, Map<String, Object> addedLater) {
        if (!(c.configMap().get(key) instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata 'config' holds no \"" + key + "\" object");
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> cm = new java.util.LinkedHashMap<>((Map<String, Object>) m);
            addedLater.forEach(cm::putIfAbsent);
            return fromMap(t, cm, key + " config");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata 'config': " + e.getMessage(), e);
        }
    }

    /** The fields (other than mayChange) whose values differ, as options: "--lr 0.01 (saved: 0.001)". */
    public static List<String> conflicts(Map<String, Object> saved, Map<String, Object> now, Set<String> mayChange) {
        List<String> out = new ArrayList<>();
        saved.forEach((k, v) -> {
            if (!mayChange.contains(k) && !v.equals(now.get(k))) out.add("--" + k.replace('_', '-') + " " + now.get(k) + " (saved: " + v + ")");
        });
        return out;
    }

    /** Refuses (with {@link #resumeRefused}) a resume whose config differs from the saved one in a field outside mayChange. */
    public static void checkResume(Record saved, Record now, Set<String> mayChange, java.nio.file.Path file) {
        List<String> differ = conflicts(toMap(saved), toMap(now), mayChange);
        if (!differ.isEmpty()) throw resumeRefused(differ, file);
    }

    /** The one-line refusal of a resume whose options differ from the saved config. */
    public static IllegalArgumentException resumeRefused(List<String> differ, java.nio.file.Path file) {
        return new IllegalArgumentException("--resume: " + String.join(", ", differ) + (differ.size() == 1 ? " differs" : " differ")
                + " from the config stored in " + file + "; drop " + (differ.size() == 1 ? "it" : "them") + " or use another --out");
    }
}
