package dev.peco4j.peco.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reading a run config back from its JSON map (as stored in checkpoints), field by field with errors
 * naming the config and the field, and comparing a saved config with a new one on resume.
 */
public final class ConfigFields {
    private ConfigFields() {}

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

    /** The fields (other than mayChange) whose values differ, as options: "--lr 0.01 (saved: 0.001)". */
    public static List<String> conflicts(Map<String, Object> saved, Map<String, Object> now, Set<String> mayChange) {
        List<String> out = new ArrayList<>();
        saved.forEach((k, v) -> {
            if (!mayChange.contains(k) && !v.equals(now.get(k))) out.add("--" + k.replace('_', '-') + " " + now.get(k) + " (saved: " + v + ")");
        });
        return out;
    }

    /** The one-line refusal of a resume whose options differ from the saved config. */
    public static IllegalArgumentException resumeRefused(List<String> differ, java.nio.file.Path file) {
        return new IllegalArgumentException("--resume: " + String.join(", ", differ) + (differ.size() == 1 ? " differs" : " differ")
                + " from the config stored in " + file + "; drop " + (differ.size() == 1 ? "it" : "them") + " or use another --out");
    }
}
