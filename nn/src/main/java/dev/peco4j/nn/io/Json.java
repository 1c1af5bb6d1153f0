package dev.peco4j.nn.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader and writer for safetensors headers and run configs. Objects keep their key
 * order (LinkedHashMap); integers read as Long, other numbers as Double. The writer's output matches
 * Python's {@code json.dumps(obj, separators=(",", ":"))}: compact, non-ASCII escaped as \\uXXXX.
 */
public final class Json {
    private final String s;
    private int at;

    private Json(String s) {
        this.s = s;
    }

    /** Parses one JSON value; trailing spaces are allowed (safetensors pads its header with them). */
    public static Object parse(String text) {
        Json p = new Json(text);
        Object v = p.value();
        p.space();
        if (p.at != text.length()) throw p.error("unexpected text after the JSON value");
        return v;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at offset " + at);
    }

    private void space() {
        while (at < s.length() && " \t\r\n".indexOf(s.charAt(at)) >= 0) at++;
    }

    private char peek() {
        space();
        if (at >= s.length()) throw error("unexpected end of JSON");
        return s.charAt(at);
    }

    private void expect(char c) {
        if (peek() != c) throw error("expected '" + c + "' but found '" + s.charAt(at) + "'");
        at++;
    }

    private Object value() {
        char c = peek();
        switch (c) {
            case '{': return object();
            case '[': return array();
            case '"': return string();
            case 't': return literal("true", Boolean.TRUE);
            case 'f': return literal("false", Boolean.FALSE);
            case 'n': return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return number();
                throw error("unexpected character '" + c + "'");
        }
    }

    private Object literal(String word, Object v) {
        if (!s.startsWith(word, at)) throw error("expected " + word);
        at += word.length();
        return v;
    }

    private Map<String, Object> object() {
        expect('{');
        Map<String, Object> m = new LinkedHashMap<>();
        if (peek() == '}') {
            at++;
            return m;
        }
        while (true) {
            if (peek() != '"') throw error("expected a string key");
            String k = string();
            expect(':');
            if (m.containsKey(k)) throw error("duplicate key \"" + k + "\"");
            m.put(k, value());
            char c = peek();
            at++;
            if (c == '}') return m;
            if (c != ',') throw error("expected ',' or '}'");
        }
    }

    private List<Object> array() {
        expect('[');
        List<Object> l = new ArrayList<>();
        if (peek() == ']') {
            at++;
            return l;
        }
        while (true) {
            l.add(value());
            char c = peek();
            at++;
            if (c == ']') return l;
            if (c != ',') throw error("expected ',' or ']'");
        }
    }

    private String string() {
        expect('"');
        StringBuilder b = new StringBuilder();
        while (true) {
            if (at >= s.length()) throw error("unterminated string");
            char c = s.charAt(at++);
            if (c == '"') return b.toString();
            if (c < 0x20) throw error("control character in string");
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (at >= s.length()) throw error("unterminated escape");
            char e = s.charAt(at++);
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    if (at + 4 > s.length()) throw error("short \\u escape");
                    try {
                        b.append((char) Integer.parseInt(s.substring(at, at + 4), 16));
                    } catch (NumberFormatException x) {
                        throw error("bad \\u escape");
                    }
                    at += 4;
                }
                default -> throw error("bad escape \\" + e);
            }
        }
    }

    private Object number() {
        int start = at;
        if (s.charAt(at) == '-') at++;
        while (at < s.length() && Character.isDigit(s.charAt(at))) at++;
        boolean integral = true;
        if (at < s.length() && s.charAt(at) == '.') {
            integral = false;
            at++;
            while (at < s.length() && Character.isDigit(s.charAt(at))) at++;
        }
        if (at < s.length() && (s.charAt(at) == 'e' || s.charAt(at) == 'E')) {
            integral = false;
            at++;
            if (at < s.length() && (s.charAt(at) == '+' || s.charAt(at) == '-')) at++;
            while (at < s.length() && Character.isDigit(s.charAt(at))) at++;
        }
        String t = s.substring(start, at);
        try {
            return integral ? (Object) Long.parseLong(t) : (Object) Double.parseDouble(t);
        } catch (NumberFormatException x) {
            throw error("bad number '" + t + "'");
        }
    }

    /** Compact JSON of maps, lists, strings, numbers, booleans and null. */
    public static String write(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v) {
        if (v == null) b.append("null");
        else if (v instanceof String str) quote(b, str);
        else if (v instanceof Boolean || v instanceof Integer || v instanceof Long) b.append(v);
        else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (!Double.isFinite(d)) throw new IllegalArgumentException("JSON cannot hold " + d);
            b.append(d == Math.rint(d) && Math.abs(d) < 1e15 ? String.format(java.util.Locale.ROOT, "%.1f", d) : Double.toString(d));
        } else if (v instanceof Map<?, ?> m) {
            b.append('{');
            boolean first = true;
            for (var e : m.entrySet()) {
                if (!first) b.append(',');
                first = false;
                quote(b, (String) e.getKey());
                b.append(':');
                write(b, e.getValue());
            }
            b.append('}');
        } else if (v instanceof List<?> l) {
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) b.append(',');
                write(b, l.get(i));
            }
            b.append(']');
        } else {
            throw new IllegalArgumentException("JSON cannot hold a " + v.getClass().getSimpleName());
        }
    }

    private static void quote(StringBuilder b, String str) {
        b.append('"');
        for (int i = 0; i < str.length(); i++) {
            char c = str.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
