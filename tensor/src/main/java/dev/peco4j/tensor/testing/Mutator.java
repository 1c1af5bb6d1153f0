package dev.peco4j.tensor.testing;

import dev.peco4j.tensor.Generator;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.StringJoiner;
import java.util.function.IntPredicate;

/**
 * The mutation operators behind {@link Fuzz}: one mutation of a valid input is 1 to 4 byte-level
 * or text-aware edits drawn from a seeded {@link Generator}, each logged in words ("flip bit 3 of
 * byte 117; truncate to 400 bytes") so a failing input can be understood as well as replayed.
 *
 * <pre>{@code
 * Mutator.Mutant m = Mutator.mutate(Generator.derive(7, 0), original);
 * m.bytes();        // the mutated input, at most original.length + 64 KiB long
 * m.description();  // what was done to it
 * }</pre>
 *
 * Byte edits: flip a bit, set a byte, overwrite or nudge a 2/4/8-byte integer, truncate, delete,
 * duplicate, insert, append. Text edits (for JSON inside binary files): insert deep '[' / '{'
 * nesting before an ASCII byte, replace a run of digits by an awkward number, replace an ASCII
 * character by a JSON structural character or a byte that is not valid UTF-8. Half of all positions
 * fall in the first {@value #HEADER} bytes, where headers live.
 */
final class Mutator {
    /** Positions are drawn from the first HEADER bytes half of the time. */
    static final int HEADER = 512;
    /** A mutant is at most this much longer than the original. */
    static final int SLACK = 64 * 1024;

    /** A mutated input and what was done to it. */
    record Mutant(byte[] bytes, String description) {}

    private static final int[] OP_WEIGHTS = {3, 2, 3, 1, 1, 1, 1, 1, 1, 2, 2, 2}; // flip .. replaceChar
    private static final int[] BYTES = {0x00, 0xFF, 0x7F, 0x80, 0x01};
    private static final String[] NUMBERS = {
        "0", "-1", "01", "1e400", "99999999999999999999", "2147483648", "NaN", "1073741824",
        "-0", "4294967296", "9223372036854775808", "-9223372036854775809", "1e-400", "0.5", ""
    };
    private static final String[] STRUCTURAL = {"\"", ",", ":", "[", "]", "{", "}", "\\"};
    private static final int[] NOT_UTF8 = {0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF8, 0xFF};
    private static final String[] NESTS = {"[", "{", "{\"a\":"};

    private final Generator rng;
    private final int cap;
    private byte[] buf;
    private int len;

    private Mutator(Generator rng, byte[] original) {
        this.rng = rng;
        this.cap = original.length + SLACK;
        this.buf = Arrays.copyOf(original, original.length + 256);
        this.len = original.length;
    }

    /** One mutation of original: 1 to 4 edits drawn from rng (which it consumes). */
    static Mutant mutate(Generator rng, byte[] original) {
        Mutator m = new Mutator(rng, original);
        int r = rng.nextInt(10), edits = r < 4 ? 1 : r < 7 ? 2 : r < 9 ? 3 : 4;
        StringJoiner log = new StringJoiner("; ");
        for (int i = 0; i < edits; i++) log.add(m.edit());
        return new Mutant(Arrays.copyOf(m.buf, m.len), log.toString());
    }

    /** Applies one edit, retrying when the drawn operator does not apply (e.g. no digits to replace). */
    private String edit() {
        for (int attempt = 0; attempt < 8; attempt++) {
            String done = switch (pickOp()) {
                case 0 -> flipBit();
                case 1 -> setByte();
                case 2 -> writeInt();
                case 3 -> nudgeInt();
                case 4 -> truncate();
                case 5 -> deleteRange();
                case 6 -> duplicateRange();
                case 7 -> insertRandom();
                case 8 -> appendRandom();
                case 9 -> nest();
                case 10 -> replaceDigits();
                default -> replaceChar();
            };
            if (done != null) return done;
        }
        String done = appendRandom();
        return done != null ? done : flipBit(); // append fails only when full, and then len > 0
    }

    private int pickOp() {
        int total = 0;
        for (int w : OP_WEIGHTS) total += w;
        int r = rng.nextInt(total);
        for (int op = 0; ; op++) {
            r -= OP_WEIGHTS[op];
            if (r < 0) return op;
        }
    }

    // ---- byte edits ----

    private String flipBit() {
        if (len == 0) return null;
        int p = pos(), bit = rng.nextInt(8);
        buf[p] ^= (byte) (1 << bit);
        return "flip bit " + bit + " of byte " + p;
    }

    private String setByte() {
        if (len == 0) return null;
        int p = pos(), v = rng.nextInt(BYTES.length + 1) < BYTES.length ? BYTES[rng.nextInt(BYTES.length)] : rng.nextInt(256);
        buf[p] = (byte) v;
        return "set byte " + p + " to " + hex(v);
    }

    /** Overwrites a 2/4/8-byte integer, little- or big-endian, at a position aligned half the time. */
    private String writeInt() {
        int w = width();
        if (w == 0) return null;
        int p = intPos(w);
        boolean little = rng.nextBoolean();
        long v = interestingInt(w);
        putInt(p, w, little, v);
        return "write " + w + "-byte " + (little ? "LE " : "BE ") + v + " at " + p;
    }

    /** Adds a small delta (±1..35) to the integer at a position: length fields off by a little. */
    private String nudgeInt() {
        int w = width();
        if (w == 0) return null;
        int p = intPos(w);
        boolean little = rng.nextBoolean();
        int delta = (1 + rng.nextInt(35)) * (rng.nextBoolean() ? 1 : -1);
        putInt(p, w, little, getInt(p, w, little) + delta);
        return "add " + delta + " to " + w + "-byte " + (little ? "LE" : "BE") + " at " + p;
    }

    /** Truncation: a third near the end, a third near the start, a third anywhere. */
    private String truncate() {
        if (len == 0) return null;
        int kind = rng.nextInt(3);
        len = kind == 0 ? len - 1 - rng.nextInt(Math.min(len, 16))
                : kind == 1 ? rng.nextInt(Math.min(len, 17))
                : rng.nextInt(len);
        return "truncate to " + len + " bytes";
    }

    private String deleteRange() {
        if (len == 0) return null;
        int p = pos(), n = 1 + rng.nextInt(Math.min(len - p, rng.nextBoolean() ? 16 : len));
        System.arraycopy(buf, p + n, buf, p, len - p - n);
        len -= n;
        return "delete " + n + " bytes at " + p;
    }

    private String duplicateRange() {
        if (len == 0 || len == cap) return null;
        int from = pos(), n = 1 + rng.nextInt(Math.min(Math.min(len - from, cap - len), rng.nextBoolean() ? 16 : len));
        byte[] copy = Arrays.copyOfRange(buf, from, from + n);
        int at = gap();
        open(at, n);
        System.arraycopy(copy, 0, buf, at, n);
        return "duplicate " + n + " bytes from " + from + " at " + at;
    }

    private String insertRandom() {
        if (len == cap) return null;
        int at = gap(), n = 1 + rng.nextInt(Math.min(cap - len, rng.nextBoolean() ? 16 : 1024));
        open(at, n);
        for (int i = 0; i < n; i++) buf[at + i] = (byte) rng.nextInt(256);
        return "insert " + n + " random bytes at " + at;
    }

    private String appendRandom() {
        if (len == cap) return null;
        int n = 1 + rng.nextInt(Math.min(cap - len, rng.nextBoolean() ? 16 : 1024));
        room(n);
        for (int i = 0; i < n; i++) buf[len + i] = (byte) rng.nextInt(256);
        len += n;
        return "append " + n + " random bytes";
    }

    // ---- text edits ----

    /** Inserts a run of '[' (or '{', or '{"a":') before an ASCII byte: 1..5000 deep, now and then up to ~60000. */
    private String nest() {
        int at = find(Mutator::isText);
        if (at < 0) return null;
        String unit = NESTS[rng.nextInt(NESTS.length)];
        int depth = rng.nextInt(8) == 0 ? 5000 + rng.nextInt(55_000)
                : (int) Math.min(5000, Math.round(Math.exp(rng.nextDouble() * Math.log(5000))));
        depth = Math.min(depth, (cap - len) / unit.length());
        if (depth == 0) return null;
        open(at, depth * unit.length());
        for (int i = 0; i < depth; i++) for (int k = 0; k < unit.length(); k++) buf[at + i * unit.length() + k] = (byte) unit.charAt(k);
        return "insert " + depth + " x '" + unit + "' at " + at;
    }

    /** Replaces a whole run of ASCII digits by an awkward decimal string ("1e400", "2147483648", ...). */
    private String replaceDigits() {
        int i = find(b -> b >= '0' && b <= '9');
        if (i < 0) return null;
        int start = i, end = i;
        while (start > 0 && buf[start - 1] >= '0' && buf[start - 1] <= '9') start--;
        while (end < len && buf[end] >= '0' && buf[end] <= '9') end++;
        String number = NUMBERS[rng.nextInt(NUMBERS.length)];
        if (len - (end - start) + number.length() > cap) return null;
        String old = new String(buf, start, Math.min(end - start, 24), StandardCharsets.US_ASCII);
        replace(start, end, number);
        return "replace digits '" + old + (end - start > 24 ? "..." : "") + "' at " + start + " with '" + number + "'";
    }

    /** Replaces one ASCII character by a JSON structural character or a byte that is not valid UTF-8 here. */
    private String replaceChar() {
        int i = find(Mutator::isText);
        if (i < 0) return null;
        int old = buf[i];
        int v = rng.nextInt(3) == 0
                ? (rng.nextBoolean() ? NOT_UTF8[rng.nextInt(NOT_UTF8.length)] : 0x80 + rng.nextInt(128))
                : STRUCTURAL[rng.nextInt(STRUCTURAL.length)].charAt(0);
        buf[i] = (byte) v;
        return "replace " + show(old) + " at " + i + " with " + show(v);
    }

    // ---- positions and buffer helpers ----

    /** An existing byte's index (len > 0), in the header half the time. */
    private int pos() {
        return rng.nextInt(rng.nextBoolean() ? Math.min(len, HEADER) : len);
    }

    /** An insertion point in [0, len], in the header half the time. */
    private int gap() {
        return rng.nextInt((rng.nextBoolean() ? Math.min(len, HEADER) : len) + 1);
    }

    /** The widest of a random 2/4/8 that fits, or 0 when fewer than 2 bytes remain. */
    private int width() {
        int w = 2 << rng.nextInt(3);
        while (w > len) w /= 2;
        return w >= 2 ? w : 0;
    }

    /** Where a w-byte integer goes: a position within bounds, aligned to w half the time. */
    private int intPos(int w) {
        int span = rng.nextBoolean() ? Math.min(len, HEADER) : len;
        int p = rng.nextInt(Math.max(span - w, 0) + 1); // len >= w, so p + w <= len
        return rng.nextBoolean() ? p - p % w : p;
    }

    private long interestingInt(int w) {
        int bits = 8 * w;
        return switch (rng.nextInt(14)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> -1;
            case 3 -> (1L << (bits - 1)) - 1; // 0x7F..
            case 4 -> 1L << (bits - 1); // 0x80..
            case 5 -> 1L << 30;
            case 6 -> Integer.MAX_VALUE;
            case 7 -> 0xFFFF_FFFFL;
            case 8 -> 1L << 62;
            case 9 -> Long.MAX_VALUE;
            case 10 -> -2 - rng.nextInt(15);
            case 11 -> len;
            case 12 -> len + 1 - rng.nextInt(3);
            default -> rng.nextLong();
        };
    }

    private void putInt(int p, int w, boolean little, long v) {
        for (int k = 0; k < w; k++) buf[p + (little ? k : w - 1 - k)] = (byte) (v >>> (8 * k));
    }

    private long getInt(int p, int w, boolean little) {
        long v = 0;
        for (int k = 0; k < w; k++) v |= (buf[p + (little ? k : w - 1 - k)] & 0xFFL) << (8 * k);
        return v;
    }

    /** The first index at or after a random position (wrapping) whose byte matches, or -1. */
    private int find(IntPredicate match) {
        if (len == 0) return -1;
        int from = pos();
        for (int k = 0; k < len; k++) {
            int i = (from + k) % len;
            if (match.test(buf[i])) return i;
        }
        return -1;
    }

    /** Grows the buffer (within the cap, which the caller checked) to hold extra more bytes. */
    private void room(int extra) {
        if (len + extra > buf.length) buf = Arrays.copyOf(buf, Math.min(cap, Math.max(len + extra, 2 * buf.length)));
    }

    /** Opens a gap of n bytes at index at (the caller checked the cap). */
    private void open(int at, int n) {
        room(n);
        System.arraycopy(buf, at, buf, at + n, len - at);
        len += n;
    }

    private void replace(int start, int end, String ascii) {
        int n = ascii.length(), grow = n - (end - start);
        room(Math.max(grow, 0));
        System.arraycopy(buf, end, buf, end + grow, len - end);
        len += grow;
        for (int k = 0; k < n; k++) buf[start + k] = (byte) ascii.charAt(k);
    }

    private static boolean isText(int b) {
        return (b >= 0x20 && b < 0x7F) || b == '\t' || b == '\n' || b == '\r';
    }

    private static String show(int b) {
        b &= 0xFF;
        return b >= 0x20 && b < 0x7F ? "'" + (char) b + "'" : hex(b);
    }

    private static String hex(int b) {
        return String.format("0x%02X", b & 0xFF);
    }
}
