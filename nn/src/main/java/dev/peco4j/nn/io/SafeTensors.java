package dev.peco4j.nn.io;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format: 8 bytes little-endian header length N, N bytes of JSON
 * ({@code {"__metadata__":{…},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},…}}, padded
 * with spaces to a multiple of 8), then the tensors' bytes, little-endian, back to back.
 *
 * <p>Files are memory-mapped (FFM, any size) and validated before any tensor is used: header size,
 * the header through the project's bounded, strict JSON reader ({@link Json}: valid UTF-8, limited
 * nesting, starting with '{'), dtypes, shapes (sizes and byte counts checked for overflow), offsets
 * in range, contiguous and non-overlapping, byte lengths agreeing with dtype and shape. Every error
 * is an IllegalArgumentException naming the file and the problem.
 *
 * <p>Writing keeps the entries' order and emits the canonical layout (metadata first, compact JSON,
 * entries in data order), so a file written that way reads and writes back byte for byte. The
 * mapping is released by the garbage collector; nothing needs closing.
 */
public final class SafeTensors {
    /** The largest header accepted, as the reference implementation. */
    public static final long MAX_HEADER = 100_000_000;

    private SafeTensors() {}

    /** safetensors dtypes with their element sizes. */
    public enum Dtype {
        BOOL(1), U8(1), I8(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4), I64(8), U64(8), F64(8);

        public final int size;

        Dtype(int size) {
            this.size = size;
        }
    }

    /** One tensor: name, dtype, shape and its little-endian bytes. */
    public record Entry(String name, Dtype dtype, int[] shape, MemorySegment data) {
        public Entry {
            shape = shape.clone();
        }

        public long numel() {
            long n = 1;
            for (int s : shape) n *= s;
            return n;
        }

        /**
         * As a tensor: F32 → float32, F64 → float64, F16/BF16 → float32 (widened exactly), integers → int32
         * (an error names the tensor if a value does not fit), BOOL → bool. Errors are
         * IllegalArgumentExceptions naming the tensor.
         */
        public Tensor toTensor() {
            if (numel() > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("safetensors: tensor '" + name + "' " + Arrays.toString(shape) + " has " + numel()
                        + " elements, more than a Tensor holds (2^31 - 9)");
            }
            int n = (int) numel();
            ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            return switch (dtype) {
                case F32 -> {
                    float[] v = new float[n];
                    MemorySegment.copy(data, f32, 0, v, 0, n);
                    yield Tensor.of(v, shape);
                }
                case F64 -> {
                    double[] v = new double[n];
                    MemorySegment.copy(data, ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, v, 0, n);
                    yield Tensor.of(v, shape);
                }
                case F16, BF16 -> {
                    float[] v = new float[n];
                    for (int k = 0; k < n; k++) {
                        short bits = data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * k);
                        v[k] = dtype == Dtype.F16 ? Float.float16ToFloat(bits) : Float.intBitsToFloat((bits & 0xFFFF) << 16);
                    }
                    yield Tensor.of(v, shape);
                }
                case BOOL -> {
                    boolean[] v = new boolean[n];
                    for (int k = 0; k < n; k++) v[k] = data.get(ValueLayout.JAVA_BYTE, k) != 0;
                    yield Tensor.ofBools(v, shape);
                }
                default -> {
                    int[] v = new int[n];
                    for (int k = 0; k < n; k++) {
                        long x = integerAt(k);
                        if (x < Integer.MIN_VALUE || x > Integer.MAX_VALUE) {
                            throw new IllegalArgumentException("safetensors: tensor '" + name + "' holds " + x + " at element " + k
                                    + ", outside int32");
                        }
                        v[k] = (int) x;
                    }
                    yield Tensor.ofInts(v, shape);
                }
            };
        }

        private long integerAt(long k) {
            ByteOrder le = ByteOrder.LITTLE_ENDIAN;
            return switch (dtype) {
                case U8 -> data.get(ValueLayout.JAVA_BYTE, k) & 0xFF;
                case I8 -> data.get(ValueLayout.JAVA_BYTE, k);
                case I16 -> data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2 * k);
                case U16 -> data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2 * k) & 0xFFFF;
                case I32 -> data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4 * k);
                case U32 -> data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4 * k) & 0xFFFFFFFFL;
                case I64, U64 -> {
                    long x = data.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(le), 8 * k);
                    if (dtype == Dtype.U64 && x < 0) throw new IllegalArgumentException("safetensors: tensor '" + name + "' holds a U64 above 2^63");
                    yield x;
                }
                default -> throw new IllegalStateException(dtype + " is not an integer dtype");
            };
        }
    }

    /** A file's metadata and entries (in data order). */
    public record Contents(Map<String, String> metadata, Map<String, Entry> entries) {
        public Contents {
            metadata = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
            entries = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        }

        /** All entries as tensors, by name. */
        public Map<String, Tensor> tensors() {
            Map<String, Tensor> out = new LinkedHashMap<>();
            entries.forEach((n, e) -> out.put(n, e.toTensor()));
            return out;
        }
    }

    /** An entry holding a tensor's values: float32 → F32, float64 → F64, int32 → I32, bool → BOOL. */
    public static Entry entry(String name, Tensor t) {
        int n = t.numel();
        MemorySegment seg;
        Dtype dt;
        switch (t.dtype()) {
            case FLOAT32 -> {
                dt = Dtype.F32;
                seg = MemorySegment.ofArray(new byte[4 * n]);
                MemorySegment.copy(t.toFloatArray(), 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, n);
            }
            case FLOAT64 -> {
                dt = Dtype.F64;
                seg = MemorySegment.ofArray(new byte[8 * n]);
                MemorySegment.copy(t.toDoubleArray(), 0, seg, ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, n);
            }
            case INT32 -> {
                dt = Dtype.I32;
                seg = MemorySegment.ofArray(new byte[4 * n]);
                MemorySegment.copy(t.toIntArray(), 0, seg, ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, n);
            }
            case BOOL -> {
                dt = Dtype.BOOL;
                byte[] b = new byte[n];
                int[] v = t.toIntArray();
                for (int k = 0; k < n; k++) b[k] = (byte) v[k];
                seg = MemorySegment.ofArray(b);
            }
            default -> throw new IllegalArgumentException("safetensors: cannot store " + t.dtype());
        }
        return new Entry(name, dt, t.shape().dims(), seg);
    }

    /**
     * An entry holding a tensor's values converted to {@code as}: F32, F64, F16, BF16 (rounded to
     * nearest even, as PyTorch converts), I32, I64, U8 or BOOL.
     */
    public static Entry entry(String name, Tensor t, Dtype as) {
        int n = t.numel();
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(n, as.size)]);
        switch (as) {
            case F32, F64 -> {
                return entry(name, t.to(as == Dtype.F32 ? DType.FLOAT32 : DType.FLOAT64));
            }
            case F16, BF16 -> {
                float[] v = t.toFloatArray();
                for (int k = 0; k < n; k++) {
                    short bits = as == Dtype.F16 ? Float.floatToFloat16(v[k]) : bfloat16(v[k]);
                    seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2L * k, bits);
                }
            }
            case I32, I64, U8, BOOL -> {
                if (t.dtype().isFloating()) throw new IllegalArgumentException("safetensors: tensor '" + name + "' is " + t.dtype() + ", not an integer tensor for " + as);
                int[] v = t.toIntArray();
                for (int k = 0; k < n; k++) {
                    switch (as) {
                        case I32 -> seg.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4L * k, v[k]);
                        case I64 -> seg.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(le), 8L * k, v[k]);
                        default -> {
                            if (v[k] < 0 || v[k] > (as == Dtype.BOOL ? 1 : 255)) {
                                throw new IllegalArgumentException("safetensors: tensor '" + name + "' holds " + v[k] + ", outside " + as);
                            }
                            seg.set(ValueLayout.JAVA_BYTE, k, (byte) v[k]);
                        }
                    }
                }
            }
            default -> throw new IllegalArgumentException("safetensors: writing " + as + " is not supported");
        }
        return new Entry(name, as, t.shape().dims(), seg);
    }

    /** float → bfloat16 bits, rounding to nearest even (NaN stays NaN). */
    static short bfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    // ------------------------------------------------------------------ reading

    /** Maps and validates a file. */
    public static Contents read(Path path) throws IOException {
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            seg = ch.size() == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        }
        return parse(seg, path.toString());
    }

    /** Validates and indexes a whole file's bytes; {@code source} names it in errors. */
    public static Contents parse(MemorySegment file, String source) {
        long size = file.byteSize();
        if (size < 8) throw bad(source, "truncated: " + size + " bytes, but the header length alone takes 8");
        long n = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > MAX_HEADER) throw bad(source, "header length " + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER + " bytes");
        if (8 + n > size) throw bad(source, "truncated: the header claims " + n + " bytes but the file has only " + (size - 8) + " after the length");
        byte[] json = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        // as the reference (InvalidHeaderStart): the header is an object from its first byte; spaces may pad its end only
        if (n == 0 || json[0] != '{') throw bad(source, "the header must start with '{' (a JSON object) at byte 8");
        Map<String, Object> h = Json.parseObject(json, "safetensors " + source + " header");
        MemorySegment data = file.asSlice(8 + n);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Object[]> found = new ArrayList<>(); // {name, dtype, shape, begin, end}
        for (var e : h.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                if (!(e.getValue() instanceof Map<?, ?> m)) throw bad(source, "__metadata__ must be an object of strings");
                for (var me : m.entrySet()) {
                    if (!(me.getValue() instanceof String v)) throw bad(source, "__metadata__ value of '" + me.getKey() + "' is not a string");
                    metadata.put((String) me.getKey(), v);
                }
                continue;
            }
            found.add(describe(source, name, e.getValue(), data.byteSize()));
        }
        found.sort(Comparator.comparingLong(o -> (Long) o[3]));
        long expected = 0;
        String previous = null;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Object[] f : found) {
            String name = (String) f[0];
            long begin = (Long) f[3], end = (Long) f[4];
            if (begin < expected) throw bad(source, "tensors '" + previous + "' and '" + name + "' overlap (offset " + begin + " < " + expected + ")");
            if (begin > expected) {
                throw bad(source, "a gap of " + (begin - expected) + " bytes lies before tensor '" + name
                        + "' (data must be contiguous)");
            }
            entries.put(name, new Entry(name, (Dtype) f[1], (int[]) f[2], data.asSlice(begin, end - begin)));
            expected = end;
            previous = name;
        }
        if (expected != data.byteSize()) {
            throw bad(source, (data.byteSize() - expected) + " bytes after the last tensor are not described by the header");
        }
        return new Contents(metadata, entries);
    }

    /** Checks one header entry: {name, dtype, shape, begin, end}. */
    private static Object[] describe(String source, String name, Object v, long dataSize) {
        if (!(v instanceof Map<?, ?> m)) throw bad(source, "tensor '" + name + "': entry must be an object");
        if (!(m.get("dtype") instanceof String ds)) throw bad(source, "tensor '" + name + "': missing dtype");
        Dtype dt;
        try {
            dt = Dtype.valueOf(ds);
        } catch (IllegalArgumentException e) {
            throw bad(source, "tensor '" + name + "': unknown dtype '" + ds + "' (expected one of " + Arrays.toString(Dtype.values()) + ")");
        }
        if (!(m.get("shape") instanceof List<?> sl)) throw bad(source, "tensor '" + name + "': missing shape");
        int[] shape = new int[sl.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(sl.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                throw bad(source, "tensor '" + name + "': invalid shape " + sl);
            }
            shape[i] = d.intValue();
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException overflow) {
                throw bad(source, "tensor '" + name + "': shape " + sl + " has more than 2^63 elements");
            }
        }
        if (!(m.get("data_offsets") instanceof List<?> ol) || ol.size() != 2 || !(ol.get(0) instanceof Long begin)
                || !(ol.get(1) instanceof Long end)) {
            throw bad(source, "tensor '" + name + "': data_offsets must be [begin, end]");
        }
        if (begin < 0 || end < begin || end > dataSize) {
            throw bad(source, "tensor '" + name + "': data_offsets [" + begin + ", " + end + "] fall outside the data section ("
                    + dataSize + " bytes)");
        }
        long need;
        try {
            need = Math.multiplyExact(numel, dt.size);
        } catch (ArithmeticException overflow) {
            throw bad(source, "tensor '" + name + "': " + dt + " " + Arrays.toString(shape) + " needs more than 2^63 bytes");
        }
        if (end - begin != need) {
            throw bad(source, "tensor '" + name + "': " + dt + " " + Arrays.toString(shape) + " needs " + need
                    + " bytes, but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        return new Object[] {name, dt, shape, begin, end};
    }

    private static IllegalArgumentException bad(String source, String problem) {
        return new IllegalArgumentException("safetensors " + source + ": " + problem);
    }

    // ------------------------------------------------------------------ writing

    /** The canonical header bytes (padded with spaces to a multiple of 8) for entries in this order. */
    static byte[] header(Map<String, String> metadata, List<Entry> entries) {
        Map<String, Object> h = new LinkedHashMap<>();
        if (!metadata.isEmpty()) h.put("__metadata__", new LinkedHashMap<>(metadata));
        long offset = 0;
        for (Entry e : entries) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("dtype", e.dtype().name());
            List<Object> shape = new ArrayList<>();
            for (int s : e.shape()) shape.add((long) s);
            d.put("shape", shape);
            long len = e.data().byteSize();
            if (len != e.numel() * e.dtype().size) {
                throw new IllegalArgumentException("safetensors: entry '" + e.name() + "' has " + len + " bytes for "
                        + e.dtype() + " " + Arrays.toString(e.shape()));
            }
            d.put("data_offsets", List.of(offset, offset + len));
            offset += len;
            if (h.put(e.name(), d) != null || e.name().equals("__metadata__")) {
                throw new IllegalArgumentException("safetensors: duplicate or reserved name '" + e.name() + "'");
            }
        }
        byte[] json = Json.write(h).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Writes entries (in order) and metadata atomically: a crash leaves the old file or the new one. */
    public static void write(Path path, Map<String, String> metadata, List<Entry> entries) throws IOException {
        byte[] header = header(metadata, entries);
        AtomicFiles.write(path, ch -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(header));
            // entries may be mapped, native or backed by any heap array: stream them through one buffer
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
            MemorySegment chunkSeg = MemorySegment.ofBuffer(chunk);
            for (Entry e : entries) {
                MemorySegment d = e.data();
                for (long at = 0; at < d.byteSize(); at += chunk.capacity()) {
                    int n = (int) Math.min(chunk.capacity(), d.byteSize() - at);
                    MemorySegment.copy(d, at, chunkSeg, 0, n);
                    writeFully(ch, chunk.clear().limit(n));
                }
            }
        });
    }

    /** Writes named tensors (in map order) and metadata atomically. */
    public static void writeTensors(Path path, Map<String, String> metadata, Map<String, Tensor> tensors) throws IOException {
        List<Entry> entries = new ArrayList<>();
        tensors.forEach((n, t) -> entries.add(entry(n, t)));
        write(path, metadata, entries);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
