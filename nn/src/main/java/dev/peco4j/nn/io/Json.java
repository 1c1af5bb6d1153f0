package dev.peco4j.nn.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one JSON reader and writer of the project: safetensors headers, checkpoint metadata, run
 * configs, metrics lines and (as they arrive) manifests all go through it.
 *
 * <p>Reading is jackson-core's streaming parser, bounded and strict (see {@link Syntax} for the one relaxation): nesting depth, string, name,
 * number and document lengths are capped ({@link StreamReadConstraints}), so hostile input cannot
 * overflow the stack or exhaust memory; the bytes must be valid UTF-8 (checked before parsing, with
 * the offset of the first bad byte); numbers follow the grammar (no leading zeros, no NaN), integers
 * must fit a long and decimals must be finite; duplicate keys and text after the value are errors.
 * The tree is built without recursion. Objects keep their key order (LinkedHashMap); integers read
 * as Long, other numbers as Double. Every error is an {@link IllegalArgumentException} naming the
 * source, the line and column, and what was expected.
 *
 * <p>The writer's output matches Python's {@code json.dumps(obj, separators=(",", ":"))}: compact,
 * non-ASCII escaped as \\uXXXX (so safetensors files written here read back byte for byte).
 *
 * <pre>{@code
 * Map<String, Object> m = Json.parseObject(bytes, "config.json");
 * String s = Json.write(m);
 * }</pre>
 */
public final class Json {
    /** The deepest nesting accepted: safetensors headers need 3, run configs a few. */
    public static final int MAX_DEPTH = 64;
    /** The longest document accepted, as the safetensors reference's header limit. */
    public static final long MAX_DOCUMENT = 100_000_000;

    /**
     * Which grammar to accept: strict JSON, or an object literal as minified JavaScript writes it
     * (unquoted keys, numbers that start with a dot: {@code {min:-.87,scale:.0067}}), as the TF.js
     * model files of nsfwjs hold their weight manifests.
     */
    public enum Syntax { STRICT, JAVASCRIPT }

    private static final StreamReadConstraints LIMITS = StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH)
            .maxDocumentLength(MAX_DOCUMENT).maxStringLength(20_000_000).maxNameLength(50_000).maxNumberLength(1_000).build();
    private static final JsonFactory STRICT = factory(false), JAVASCRIPT = factory(true);

    private Json() {}

    private static JsonFactory factory(boolean javascript) {
        var b = JsonFactory.builder().streamReadConstraints(LIMITS)
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION);
        if (javascript) b.enable(JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES, JsonReadFeature.ALLOW_LEADING_DECIMAL_POINT_FOR_NUMBERS);
        return b.build();
    }

    /**
     * A JSON file holding one object, read strictly: a file larger than {@link #MAX_DOCUMENT} is refused
     * before it is read; errors name the file.
     */
    public static Map<String, Object> readObject(java.nio.file.Path file) throws java.io.IOException {
        long size = java.nio.file.Files.size(file);
        if (size > MAX_DOCUMENT) throw new IllegalArgumentException(file + ": " + size + " bytes, more than a JSON document may hold (" + MAX_DOCUMENT + ")");
        return parseObject(java.nio.file.Files.readAllBytes(file), file.toString());
    }

    /** Parses one JSON value from text; {@code source} names it in errors. */
    public static Object parse(String text, String source) {
        return parse(text, source, Syntax.STRICT);
    }

    /** Parses one JSON value from UTF-8 bytes (strictly validated); {@code source} names it in errors. */
    public static Object parse(byte[] utf8, String source) {
        return parse(utf8, source, Syntax.STRICT);
    }

    public static Object parse(byte[] utf8, String source, Syntax syntax) {
        return parse(utf8(utf8, source), source, syntax);
    }

    /** One JSON object (a map with the keys in order); anything else is an error naming the source. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text, String source) {
        Object v = parse(text, source);
        if (!(v instanceof Map<?, ?>)) throw new IllegalArgumentException(source + ": expected a JSON object, found " + kind(v));
        return (Map<String, Object>) v;
    }

    public static Map<String, Object> parseObject(byte[] utf8, String source) {
        return parseObject(utf8(utf8, source), source);
    }

    /** Decodes UTF-8, refusing malformed or truncated sequences (no silent replacement characters). */
    public static String utf8(byte[] bytes, String source) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            int at = 0;
            var d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT);
            var in = ByteBuffer.wrap(bytes);
            var out = java.nio.CharBuffer.allocate(bytes.length + 1);
            if (d.decode(in, out, true).isError()) at = in.position();
            throw new IllegalArgumentException(source + ": invalid UTF-8 at byte " + at + " (0x"
                    + String.format("%02x", bytes[Math.min(at, bytes.length - 1)] & 0xff) + ")");
        }
    }

    /** A short name of a parsed value's kind, for messages ("object", "array", "string", "number", ...). */
    public static String kind(Object v) {
        if (v == null) return "null";
        if (v instanceof Map<?, ?>) return "an object";
        if (v instanceof List<?>) return "an array";
        if (v instanceof String s) return "the string \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
        if (v instanceof Boolean b) return b.toString();
        return "the number " + v;
    }

    private static Object parse(String text, String source, Syntax syntax) {
        try (JsonParser p = (syntax == Syntax.STRICT ? STRICT : JAVASCRIPT).createParser(text)) {
            Object v = tree(p, source);
            if (p.nextToken() != null) throw error(source, p, "unexpected text after the JSON value");
            return v;
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getOriginalMessage()
                    + (loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")"));
        } catch (IOException e) { // reading a String cannot fail otherwise
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /** Builds the value at the parser's position with an explicit stack of open containers (no recursion). */
    @SuppressWarnings("unchecked")
    private static Object tree(JsonParser p, String source) throws IOException {
        Deque<Object> open = new ArrayDeque<>();
        JsonToken t = p.nextToken();
        if (t == null) throw error(source, p, "no JSON value (empty input)");
        while (true) {
            Object v;
            switch (t) {
                case START_OBJECT -> v = new LinkedHashMap<String, Object>();
                case START_ARRAY -> v = new ArrayList<>();
                case END_OBJECT, END_ARRAY -> v = open.pop();
                case FIELD_NAME -> v = null;
                case VALUE_STRING -> v = p.getText();
                case VALUE_TRUE -> v = Boolean.TRUE;
                case VALUE_FALSE -> v = Boolean.FALSE;
                case VALUE_NULL -> v = null;
                case VALUE_NUMBER_INT -> {
                    if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) throw error(source, p, "integer " + p.getText() + " does not fit 64 bits");
                    v = p.getLongValue();
                }
                case VALUE_NUMBER_FLOAT -> {
                    double d = p.getDoubleValue();
                    if (!Double.isFinite(d)) throw error(source, p, "number " + p.getText() + " is out of range");
                    v = d;
                }
                default -> throw error(source, p, "unexpected " + t);
            }
            boolean closes = t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY;
            if (t != JsonToken.FIELD_NAME) {
                if (!closes) {
                    if (open.peek() instanceof Map<?, ?> m) ((Map<String, Object>) m).put(p.currentName(), v);
                    else if (open.peek() instanceof List<?> l) ((List<Object>) l).add(v);
                }
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) open.push(v);
                else if (open.isEmpty()) return v;
            }
            t = p.nextToken();
            if (t == null) throw error(source, p, "unexpected end of JSON");
        }
    }

    private static IllegalArgumentException error(String source, JsonParser p, String what) {
        var loc = p.currentLocation();
        return new IllegalArgumentException(source + ": not valid JSON: " + what + " (line " + loc.getLineNr() + ", column "
                + loc.getColumnNr() + ")");
    }

    /**
     * Compact JSON of maps, lists, strings, numbers, booleans and null. A value JSON cannot hold (NaN,
     * infinity, another type) is an error naming its path, e.g. {@code $.eval.test_loss}.
     */
    public static String write(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v, "$");
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, String path) {
        if (v == null) b.append("null");
        else if (v instanceof String str) quote(b, str);
        else if (v instanceof Boolean || v instanceof Integer || v instanceof Long) b.append(v);
        else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (!Double.isFinite(d)) throw new IllegalArgumentException("JSON cannot hold " + d + " (at " + path + ")");
            b.append(d == Math.rint(d) && Math.abs(d) < 1e15 ? String.format(java.util.Locale.ROOT, "%.1f", d) : Double.toString(d));
        } else if (v instanceof Map<?, ?> m) {
            b.append('{');
            boolean first = true;
            for (var e : m.entrySet()) {
                if (!first) b.append(',');
                first = false;
                quote(b, (String) e.getKey());
                b.append(':');
                write(b, e.getValue(), path + "." + e.getKey());
            }
            b.append('}');
        } else if (v instanceof List<?> l) {
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) b.append(',');
                write(b, l.get(i), path + "[" + i + "]");
            }
            b.append(']');
        } else {
            throw new IllegalArgumentException("JSON cannot hold a " + v.getClass().getSimpleName() + " (at " + path + ")");
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
