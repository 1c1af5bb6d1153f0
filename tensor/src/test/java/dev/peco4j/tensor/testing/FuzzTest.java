package dev.peco4j.tensor.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * The fuzzer on a tiny format defined here ("TNY1", a JSON header, int32 values, a CRC32 of the
 * values): a strict reader passes; readers with the usual bugs (unbounded recursion, a missing null
 * check, an unchecked checksum, messages that do not name the input) are caught and replay.
 */
class FuzzTest {
    private static final int[] VALUES = {3, -7, 1 << 20, 42, 0, 99};
    private static final byte[] VALID = tiny("weights", VALUES);
    private static final byte[] MANIFEST = "{\"model\":\"tiny\",\"layers\":[{\"dim\":64,\"heads\":4}],\"lr\":0.001,\"steps\":12000}"
            .getBytes(StandardCharsets.US_ASCII);

    // ---- the mutations ----

    @Test
    void sameSeedAndIndexGiveTheSameMutation() {
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            byte[] a = Fuzz.mutation("tiny", VALID, 5, i), b = Fuzz.mutation("tiny", VALID, 5, i);
            assertArrayEquals(a, b, "case " + i);
            assertEquals(Fuzz.describe("tiny", VALID, 5, i), Fuzz.describe("tiny", VALID, 5, i));
            distinct.add(Arrays.toString(a));
        }
        assertTrue(distinct.size() > 180, distinct.size() + " distinct of 200");
        assertFalse(Arrays.equals(Fuzz.mutation("tiny", VALID, 5, 0), Fuzz.mutation("tiny", VALID, 6, 0))
                && Arrays.equals(Fuzz.mutation("tiny", VALID, 5, 1), Fuzz.mutation("tiny", VALID, 6, 1)));
        assertFalse(Arrays.equals(Fuzz.mutation("tiny", VALID, 5, 0), Fuzz.mutation("other", VALID, 5, 0))
                && Arrays.equals(Fuzz.mutation("tiny", VALID, 5, 1), Fuzz.mutation("other", VALID, 5, 1)));
    }

    @Test
    void mutantsStayWithinTheSizeCapAndDescribeThemselves() {
        for (byte[] original : List.of(VALID, MANIFEST, new byte[0], new byte[] {7})) {
            for (int i = 0; i < 500; i++) {
                byte[] m = Fuzz.mutation("cap", original, 1, i);
                assertTrue(m.length <= original.length + 64 * 1024, m.length + " bytes");
                assertFalse(Fuzz.describe("cap", original, 1, i).isBlank());
            }
        }
    }

    @Test
    void textMutationsMakeDeepNestingAwkwardNumbersAndInvalidUtf8() {
        int deep = 0, deepObjects = 0, numbers = 0, notUtf8 = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] m = Fuzz.mutation("manifest", MANIFEST, 2, i);
            String s = new String(m, StandardCharsets.ISO_8859_1);
            if (s.contains("[".repeat(1000)) || s.contains("{".repeat(1000))) deep++;
            if (s.contains("{\"a\":".repeat(100))) deepObjects++;
            if (s.contains("1e400") || s.contains("99999999999999999999") || s.contains("2147483648")) numbers++;
            if (!isUtf8(m)) notUtf8++;
        }
        assertTrue(deep >= 10, deep + " deeply nested");
        assertTrue(deepObjects >= 5, deepObjects + " deeply nested objects");
        assertTrue(numbers >= 10, numbers + " with awkward numbers");
        assertTrue(notUtf8 >= 50, notUtf8 + " not UTF-8");
    }

    // ---- the engine ----

    @Test
    void strictReaderWithChecksumHasNoFailures() {
        Fuzz.Report r = Fuzz.run(tinyTarget("tiny-strict", true, true), VALID, 3000, 11).assertClean();
        assertEquals(3000, r.mutations());
        assertEquals(3000, r.accepted() + r.rejected());
        assertTrue(r.accepted() > 0 && r.rejected() > 2000, r.toString());
    }

    @Test
    void unboundedRecursionIsCaughtWithReplayInfo() {
        Fuzz.Target<Integer> target = new Fuzz.Target<>("nesting", (in, name) -> {
            int[] at = {0};
            int depth = 0;
            while (at[0] < in.length) depth = Math.max(depth, nest(in, at, 0));
            return depth;
        }, Fuzz.namedExceptions(IOException.class), Fuzz.Checker.anything());
        Fuzz.Report r = Fuzz.run(target, MANIFEST, 1000, 3);
        assertFalse(r.clean(), r.toString());
        Fuzz.Failure f = r.failures().get(0);
        assertTrue(f.problem().startsWith("stack overflow at "), f.problem());
        assertTrue(f.toString().contains("-Dpeco4j.fuzz.replay=nesting:" + f.index()), f.toString());
        assertTrue(f.toString().contains(f.mutation()), f.toString());
        assertInstanceOf(StackOverflowError.class, f.thrown());
        assertThrows(StackOverflowError.class, () -> target.reader().read(Fuzz.mutation("nesting", MANIFEST, f.seed(), f.index()), "x"));
        assertEquals(r.mutations(), r.accepted() + r.rejected() + r.failed());
    }

    @Test
    void realStackOverflowAndOtherErrorsAreFailures() {
        Fuzz.Report overflow = Fuzz.run(new Fuzz.Target<>("recurse", (in, name) -> recurse(in.length),
                Fuzz.namedExceptions(IOException.class), Fuzz.Checker.anything()), VALID, 3, 0);
        assertEquals(3, overflow.failed());
        assertTrue(overflow.failures().get(0).problem().startsWith("stack overflow at "), overflow.toString());
        Fuzz.Report oom = Fuzz.run(new Fuzz.Target<>("oom", (in, name) -> {
            throw new OutOfMemoryError("Java heap space");
        }, Fuzz.namedExceptions(IOException.class), Fuzz.Checker.anything()), VALID, 2, 0);
        assertTrue(oom.failures().get(0).problem().startsWith("out of memory: Java heap space"), oom.toString());
        AssertionError e = assertThrows(AssertionError.class, oom::assertClean);
        assertInstanceOf(OutOfMemoryError.class, e.getCause());
        assertTrue(e.getMessage().contains("-Dpeco4j.fuzz.replay=oom:0"), e.getMessage());
    }

    @Test
    void missingNullCheckIsCaught() {
        Fuzz.Report r = Fuzz.run(tinyTarget("tiny-npe", true, false), VALID, 5000, 4);
        assertFalse(r.clean(), r.toString());
        assertTrue(r.failures().stream().anyMatch(f -> f.problem().startsWith("undocumented exception java.lang.NullPointerException")
                || f.problem().startsWith("undocumented exception java.lang.ClassCastException")), r.failures().toString());
        assertTrue(r.failures().size() <= Fuzz.KEPT_FAILURES && r.failed() > r.failures().size(), r.toString());
        assertFalse(r.failures().get(0).problem().contains("message does not name"), r.failures().get(0).problem());
    }

    @Test
    void uncheckedChecksumIsCaughtAsWrongData() {
        Fuzz.Report r = Fuzz.run(tinyTarget("tiny-nocrc", false, true), VALID, 500, 5);
        assertFalse(r.clean());
        assertTrue(r.failures().stream().anyMatch(f -> f.problem().startsWith("accepted wrong data: values ")), r.failures().toString());
        assertEquals(r.mutations(), r.accepted() + r.rejected() + r.failed());
    }

    @Test
    void messagesMustNameTheInput() {
        Fuzz.Target<Tiny> strict = tinyTarget("tiny-anon", true, true);
        Fuzz.Target<Tiny> anonymous = new Fuzz.Target<>("tiny-anon", (in, name) -> strict.reader().read(in, "input"),
                strict.documented(), strict.accepted());
        Fuzz.Report r = Fuzz.run(anonymous, VALID, 100, 6);
        assertTrue(r.failed() > 50, r.toString());
        assertTrue(r.failures().get(0).problem().contains("message does not name the input 'tiny-anon#"), r.failures().get(0).problem());
    }

    @Test
    void slowReadsAreFailures() {
        withProperty(Fuzz.SLOW_PROPERTY, "1", () -> {
            Fuzz.Report r = Fuzz.run(new Fuzz.Target<>("slow", (in, name) -> {
                Thread.sleep(20);
                return in.length;
            }, Fuzz.namedExceptions(IOException.class), Fuzz.Checker.anything()), VALID, 2, 0);
            assertEquals(2, r.failed());
            assertTrue(r.failures().get(0).problem().startsWith("slow: "), r.toString());
            return null;
        });
    }

    @Test
    void replayRunsOnlyThatCaseAndThrowsItsFailure() {
        Fuzz.Target<Tiny> target = tinyTarget("tiny-replay", false, true);
        Fuzz.Failure f = Fuzz.run(target, VALID, 500, 8).failures().get(0);
        AssertionError e = withProperty(Fuzz.REPLAY_PROPERTY, "tiny-replay:" + f.index(),
                () -> assertThrows(AssertionError.class, () -> Fuzz.run(target, VALID, 500, 8)));
        assertTrue(e.getMessage().contains(f.problem()) && e.getMessage().contains(f.mutation()), e.getMessage());

        Fuzz.Target<Tiny> strict = tinyTarget("tiny-replay", true, true);
        Fuzz.Report one = withProperty(Fuzz.REPLAY_PROPERTY, "tiny-replay:" + f.index(), () -> Fuzz.run(strict, VALID, 500, 8));
        assertEquals(1, one.mutations());
        Fuzz.Report other = withProperty(Fuzz.REPLAY_PROPERTY, "another:3", () -> Fuzz.run(strict, VALID, 20, 8));
        assertEquals(20, other.mutations());
    }

    @Test
    void mutationCountComesFromTheProperty() {
        assertEquals(Integer.getInteger(Fuzz.MUTATIONS_PROPERTY, 123), Fuzz.mutations(123));
        assertEquals(17, withProperty(Fuzz.MUTATIONS_PROPERTY, "17", () -> Fuzz.mutations(123)));
    }

    @Test
    void namedExceptionsNeedTheTypeAndTheName() {
        var rule = Fuzz.namedExceptions(IOException.class, IllegalArgumentException.class);
        assertTrue(rule.test(new IOException("a.bin: truncated"), "a.bin"));
        assertTrue(rule.test(new IllegalArgumentException("bad a.bin"), "a.bin"));
        assertFalse(rule.test(new IOException("truncated"), "a.bin"));
        assertFalse(rule.test(new IllegalStateException("a.bin: truncated"), "a.bin"));
        assertFalse(rule.test(new IOException((String) null), "a.bin"));
    }

    // ---- the tiny format: "TNY1", u32 header length, JSON header, int32 values, CRC32 of the values ----

    record Tiny(String name, List<Integer> values) {}

    static byte[] tiny(String name, int[] values) {
        byte[] header = ("{\"name\":\"" + name + "\",\"n\":" + values.length + ",\"tags\":[1,2.5,{\"x\":[true,null]}]}")
                .getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 4 * values.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put("TNY1".getBytes(StandardCharsets.US_ASCII)).putInt(header.length).put(header);
        for (int v : values) b.putInt(v);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 8 + header.length, 4 * values.length);
        return b.putInt((int) crc.getValue()).array();
    }

    /** The reader under test: strict, or with its checksum or null checks left out. */
    static Fuzz.Target<Tiny> tinyTarget(String name, boolean checkCrc, boolean checkNulls) {
        List<Integer> expected = Arrays.stream(VALUES).boxed().toList();
        return new Fuzz.Target<>(name, (in, inputName) -> readTiny(in, inputName, checkCrc, checkNulls),
                Fuzz.namedExceptions(IOException.class),
                (original, mutated, t) -> t.values().equals(expected) ? null : "values " + t.values());
    }

    static Tiny readTiny(byte[] in, String name, boolean checkCrc, boolean checkNulls) throws IOException {
        if (in.length < 8) throw bad(name, "truncated to " + in.length + " bytes");
        if (!new String(in, 0, 4, StandardCharsets.ISO_8859_1).equals("TNY1")) throw bad(name, "not a TNY1 file");
        ByteBuffer b = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = Integer.toUnsignedLong(b.getInt(4));
        if (headerLength > in.length - 8) throw bad(name, "header length " + headerLength + " exceeds the file");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(in, 8, (int) headerLength)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(name + ": header is not UTF-8", e);
        }
        if (!(new Json(text, name).document() instanceof Map<?, ?> header)) throw bad(name, "header is not an object");
        long n;
        String label;
        if (checkNulls) {
            if (!(header.get("n") instanceof Long count) || count < 0 || count > in.length / 4) {
                throw bad(name, "header needs a count 'n' in [0, " + in.length / 4 + "]");
            }
            if (!(header.get("name") instanceof String s)) throw bad(name, "header needs a string 'name'");
            n = count;
            label = s;
        } else {
            n = (Long) header.get("n");
            label = header.get("name").toString();
        }
        long payload = in.length - 8 - headerLength;
        if (payload != 4 * n + 4) throw bad(name, "payload is " + payload + " bytes, expected " + (4 * n + 4));
        List<Integer> values = new ArrayList<>();
        int at = 8 + (int) headerLength;
        for (int i = 0; i < n; i++) values.add(b.getInt(at + 4 * i));
        CRC32 crc = new CRC32();
        crc.update(in, at, (int) (4 * n));
        if (checkCrc && b.getInt(in.length - 4) != (int) crc.getValue()) throw bad(name, "checksum mismatch");
        return new Tiny(label, values);
    }

    private static IOException bad(String name, String what) {
        return new IOException(name + ": " + what);
    }

    /** A strict JSON parser with a nesting limit; every error is an IOException naming the input. */
    static final class Json {
        private static final int MAX_DEPTH = 64;
        private final String s, name;
        private int at;

        Json(String s, String name) {
            this.s = s;
            this.name = name;
        }

        Object document() throws IOException {
            Object v = value(0);
            space();
            if (at != s.length()) throw error("trailing characters");
            return v;
        }

        private Object value(int depth) throws IOException {
            if (depth > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH);
            space();
            if (at >= s.length()) throw error("unexpected end");
            char c = s.charAt(at);
            if (c == '{') return object(depth);
            if (c == '[') return array(depth);
            if (c == '"') return string();
            if (c == '-' || (c >= '0' && c <= '9')) return number();
            for (String word : List.of("true", "false", "null")) {
                if (s.startsWith(word, at)) {
                    at += word.length();
                    return word.equals("null") ? "null" : Boolean.valueOf(word);
                }
            }
            throw error("unexpected character");
        }

        private Map<String, Object> object(int depth) throws IOException {
            Map<String, Object> m = new LinkedHashMap<>();
            at++;
            space();
            if (peek('}')) return m;
            do {
                space();
                if (!(at < s.length() && s.charAt(at) == '"')) throw error("expected a key");
                String key = string();
                space();
                expect(':');
                if (m.put(key, value(depth + 1)) != null) throw error("duplicate key '" + key + "'");
                space();
            } while (peek(','));
            expect('}');
            return m;
        }

        private List<Object> array(int depth) throws IOException {
            List<Object> list = new ArrayList<>();
            at++;
            space();
            if (peek(']')) return list;
            do list.add(value(depth + 1));
            while (peekAfterSpace(','));
            space();
            expect(']');
            return list;
        }

        private String string() throws IOException {
            StringBuilder sb = new StringBuilder();
            at++;
            while (true) {
                if (at >= s.length()) throw error("unterminated string");
                char c = s.charAt(at++);
                if (c == '"') return sb.toString();
                if (c < 0x20) throw error("control character in string");
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                if (at >= s.length()) throw error("unterminated escape");
                char e = s.charAt(at++);
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'u' -> {
                        if (at + 4 > s.length() || !s.substring(at, at + 4).matches("[0-9a-fA-F]{4}")) throw error("bad \\u escape");
                        sb.append((char) Integer.parseInt(s.substring(at, at + 4), 16));
                        at += 4;
                    }
                    default -> throw error("bad escape");
                }
            }
        }

        private Object number() throws IOException {
            int start = at;
            if (s.charAt(at) == '-') at++;
            int digits = at;
            while (at < s.length() && s.charAt(at) >= '0' && s.charAt(at) <= '9') at++;
            if (at == digits || (s.charAt(digits) == '0' && at - digits > 1)) throw error("bad number");
            boolean integer = true;
            if (at < s.length() && s.charAt(at) == '.') {
                integer = false;
                int f = ++at;
                while (at < s.length() && s.charAt(at) >= '0' && s.charAt(at) <= '9') at++;
                if (at == f) throw error("bad fraction");
            }
            if (at < s.length() && (s.charAt(at) == 'e' || s.charAt(at) == 'E')) {
                integer = false;
                at++;
                if (at < s.length() && (s.charAt(at) == '+' || s.charAt(at) == '-')) at++;
                int x = at;
                while (at < s.length() && s.charAt(at) >= '0' && s.charAt(at) <= '9') at++;
                if (at == x) throw error("bad exponent");
            }
            String t = s.substring(start, at);
            try {
                if (integer) return Long.parseLong(t);
                double d = Double.parseDouble(t);
                if (Double.isInfinite(d)) throw error("number out of range");
                return d;
            } catch (NumberFormatException e) {
                throw error("number out of range");
            }
        }

        private void space() {
            while (at < s.length() && " \t\n\r".indexOf(s.charAt(at)) >= 0) at++;
        }

        private boolean peek(char c) {
            if (at < s.length() && s.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private boolean peekAfterSpace(char c) {
            space();
            return peek(c);
        }

        private void expect(char c) throws IOException {
            if (!peek(c)) throw error("expected '" + c + "'");
        }

        private IOException error(String what) {
            return new IOException(name + ": " + what + " at character " + at + " of the header");
        }
    }

    // ---- helpers ----

    /** The deepest '[' nesting from at, recursing once per '[' as a careless parser would. */
    private static int nest(byte[] in, int[] at, int depth) {
        if (depth > 1000) throw new StackOverflowError(); // stands in for a small thread stack, deterministically
        int deepest = depth;
        while (at[0] < in.length) {
            byte b = in[at[0]++];
            if (b == '[') deepest = Math.max(deepest, nest(in, at, depth + 1));
            else if (b == ']') return deepest;
        }
        return deepest;
    }

    private static int recurse(int n) {
        return recurse(n + 1) + 1;
    }

    private static boolean isUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    private static <R> R withProperty(String key, String value, Supplier<R> body) {
        String previous = System.getProperty(key);
        System.setProperty(key, value);
        try {
            return body.get();
        } finally {
            if (previous == null) System.clearProperty(key);
            else System.setProperty(key, previous);
        }
    }
}
