package dev.peco4j.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Shape;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path tmp;

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(SafeTensorsTest.class.getResource("/fixtures/" + name + ".safetensors").toURI());
    }

    @Test
    void everyFileWrittenByPyTorchReadsAndWritesBackByteForByte() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(fixture("dtypes").getParent())) {
            files = s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        assertTrue(files.size() >= 10, "fixtures found: " + files);
        for (Path f : files) {
            SafeTensors.Contents c = SafeTensors.read(f);
            Path out = tmp.resolve(f.getFileName());
            SafeTensors.write(out, c.metadata(), new ArrayList<>(c.entries().values()));
            assertEquals(-1, Files.mismatch(f, out), "round trip of " + f.getFileName() + " differs");
        }
    }

    @Test
    void dtypesWrittenByPyTorch() throws Exception {
        SafeTensors.Contents c = SafeTensors.read(fixture("dtypes"));
        Map<String, Tensor> t = c.tensors();
        float[] v = {0f, 1.5f, -2.25f, 65504f, 1e-3f};
        assertArrayEquals(v, t.get("f32").toFloatArray());
        assertEquals(DType.FLOAT64, t.get("f64").dtype());
        assertEquals(1.5 / 3, t.get("f64").toDoubleArray()[1], 1e-7);
        // values as PyTorch 1.13 converts them: half(1e-3) = 0.0010004043579101562
        assertArrayEquals(new float[] {0f, 1.5f, -2.25f, 65504f, 0.0010004043579101562f}, t.get("f16").toFloatArray());
        // bf16 keeps 8 mantissa bits: 65504 rounds to 65536, 1e-3 to 0.00099945068359375
        assertArrayEquals(new float[] {0f, 1.5f, -2.25f, 65536f, 0.00099945068359375f}, t.get("bf16").toFloatArray());
        assertArrayEquals(new int[] {-3, 0, 7, Integer.MAX_VALUE}, t.get("i64").toIntArray());
        assertEquals(Shape.of(2, 2), t.get("i64").shape());
        assertArrayEquals(new int[] {5, -6}, t.get("i32").toIntArray());
        assertArrayEquals(new int[] {0, 255, 17}, t.get("u8").toIntArray());
        assertEquals(DType.BOOL, t.get("bool").dtype());
        assertArrayEquals(new int[] {1, 0, 1}, t.get("bool").toIntArray());
        assertEquals(Shape.scalar(), t.get("scalar").shape());
        assertEquals(Shape.of(0, 3), t.get("empty").shape());
        assertEquals("caf\u00e9 \u2014 ok", c.metadata().get("unicode"));
        assertEquals(SafeTensors.Dtype.I64, c.entries().get("i64").dtype());
    }

    @Test
    void javaTensorsRoundTrip() throws Exception {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("a", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).mT()); // non-contiguous
        in.put("b", Tensor.of(new double[] {Math.PI}, 1));
        in.put("c", Tensor.ofInts(new int[] {-1, 7}, 2));
        in.put("d", Tensor.ofBools(new boolean[] {true, false}, 2));
        Path p = tmp.resolve("t.safetensors");
        SafeTensors.writeTensors(p, Map.of("k", "v"), in);
        Map<String, Tensor> out = SafeTensors.read(p).tensors();
        assertEquals(in.keySet(), out.keySet());
        for (String k : in.keySet()) {
            assertEquals(in.get(k).dtype(), out.get(k).dtype(), k);
            assertEquals(in.get(k).shape(), out.get(k).shape(), k);
            assertArrayEquals(in.get(k).toDoubleArray(), out.get(k).toDoubleArray(), k);
        }
        assertEquals(0, (Files.size(p) - 8 - (Files.size(p) - 8 - headerLength(p))) % 8, "header padded to 8");
    }

    private static long headerLength(Path p) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    @Test
    void writingHalfBfloatAndInt64MatchesPyTorchsBytes() throws Exception {
        SafeTensors.Contents torch = SafeTensors.read(fixture("dtypes"));
        Tensor v = torch.entries().get("f32").toTensor();
        for (String name : new String[] {"f16", "bf16"}) {
            SafeTensors.Entry ours = SafeTensors.entry(name, v, SafeTensors.Dtype.valueOf(name.toUpperCase()));
            assertArrayEquals(torch.entries().get(name).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    ours.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), name + " bytes");
        }
        Tensor i64 = torch.entries().get("i64").toTensor();
        assertArrayEquals(torch.entries().get("i64").data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                SafeTensors.entry("i64", i64, SafeTensors.Dtype.I64).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.entry("u8", Tensor.ofInts(new int[] {256}, 1), SafeTensors.Dtype.U8));
    }

    /** A file made of a raw length field, a header text and data bytes. */
    private Path file(String name, long headerLen, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen).put(h);
        Path p = tmp.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private Path file(String name, String header, int dataBytes) throws IOException {
        return file(name, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private static String error(Path p) {
        return assertThrows(IllegalArgumentException.class, () -> SafeTensors.read(p)).getMessage();
    }

    @Test
    void truncatedFiles() throws Exception {
        byte[] whole = Files.readAllBytes(fixture("linear"));
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(whole, whole.length - 10));
        String m = error(cut);
        assertTrue(m.startsWith("safetensors " + cut + ": ") && m.contains("fall outside the data section"), m);
        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[5]);
        assertEquals("safetensors " + tiny + ": truncated: 5 bytes, but the header length alone takes 8", error(tiny));
        Path shortHeader = tmp.resolve("short.safetensors");
        Files.write(shortHeader, java.util.Arrays.copyOf(whole, 100));
        assertTrue(error(shortHeader).contains("truncated: the header claims"), error(shortHeader));
    }

    @Test
    void oversizedHeader() throws Exception {
        Path p = file("big.safetensors", 1L << 40, "{}", 0);
        assertEquals("safetensors " + p + ": header length 1099511627776 exceeds the limit of 100000000 bytes", error(p));
    }

    @Test
    void overlappingGappedAndTrailingData() throws Exception {
        Path overlap = file("overlap.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertEquals("safetensors " + overlap + ": tensors 'a' and 'b' overlap (offset 4 < 8)", error(overlap));
        Path gap = file("gap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertEquals("safetensors " + gap + ": a gap of 4 bytes lies before tensor 'a' (data must be contiguous)", error(gap));
        Path trailing = file("trailing.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6);
        assertEquals("safetensors " + trailing + ": 2 bytes after the last tensor are not described by the header", error(trailing));
        Path outside = file("outside.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertTrue(error(outside).endsWith("tensor 'a': data_offsets [0, 16] fall outside the data section (8 bytes)"), error(outside));
    }

    @Test
    void wrongDtypes() throws Exception {
        Path unknown = file("unknown.safetensors", "{\"a\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        assertTrue(error(unknown).startsWith("safetensors " + unknown + ": tensor 'a': unknown dtype 'F8' (expected one of [BOOL,"),
                error(unknown));
        Path mismatch = file("mismatch.safetensors", "{\"a\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24);
        assertEquals("safetensors " + mismatch + ": tensor 'a': F64 [2, 3] needs 48 bytes, but data_offsets [0, 24] hold 24",
                error(mismatch));
        Path big = tmp.resolve("i64.safetensors");
        MemorySegment v = MemorySegment.ofArray(new long[] {1L << 40});
        SafeTensors.write(big, Map.of(), List.of(new SafeTensors.Entry("huge", SafeTensors.Dtype.I64, new int[] {1}, v)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.read(big).tensors());
        assertEquals("safetensors: tensor 'huge' holds 1099511627776 at element 0, outside int32", e.getMessage());
    }

    @Test
    void malformedHeaders() throws Exception {
        Path json = file("json.safetensors", "{\"a\":", 0);
        assertTrue(error(json).startsWith("safetensors " + json + " header: not valid JSON: Unexpected end-of-input"), error(json));
        Path meta = file("meta.safetensors", "{\"__metadata__\":{\"k\":1}}", 0);
        assertEquals("safetensors " + meta + ": __metadata__ value of 'k' is not a string", error(meta));
        Path shape = file("shape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0);
        assertEquals("safetensors " + shape + ": tensor 'a': invalid shape [-1]", error(shape));
    }

    // ---------------------------------------------------------------- hostile headers (issue 9 regressions)

    @Test
    void deeplyNestedJsonIsRefusedWithoutAStackOverflow() throws Exception {
        Path deep = file("deep.safetensors", "{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 0);
        String m = error(deep);
        assertTrue(m.startsWith("safetensors " + deep + " header: not valid JSON: Document nesting depth (65) exceeds the maximum allowed (64"), m);
    }

    @Test
    void aShapeWhoseByteCountOverflowsIsRefusedNamingFileAndTensor() throws Exception {
        Path f = file("overflow.safetensors", "{\"w\":{\"dtype\":\"F64\",\"shape\":[1073741824,1073741824,2],\"data_offsets\":[0,0]}}", 0);
        assertEquals("safetensors " + f + ": tensor 'w': F64 [1073741824, 1073741824, 2] needs more than 2^63 bytes", error(f));
        Path g = file("overflow2.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,0]}}", 0);
        assertEquals("safetensors " + g + ": tensor 'w': shape [2147483647, 2147483647, 2147483647] has more than 2^63 elements", error(g));
        // a valid file with more elements than a Tensor holds: the error names the tensor, not an ArithmeticException
        Path h = file("zero.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0,2147483647,4],\"data_offsets\":[0,0]}}", 0);
        assertEquals(0, SafeTensors.read(h).tensors().get("w").numel());
    }

    @Test
    void invalidUtf8InTheHeaderIsRefused() throws Exception {
        byte[] h = "{\"a\u00e9\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.UTF_8);
        int at = new String(h, StandardCharsets.UTF_8).indexOf('\u00e9') + 1; // the second byte of é
        h[at] = (byte) 0x41; // é's lead byte followed by 'A': malformed
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        Path p = tmp.resolve("utf8.safetensors");
        Files.write(p, b.array());
        assertEquals("safetensors " + p + " header: invalid UTF-8 at byte " + (at - 1) + " (0xc3)", error(p));
    }

    @Test
    void jsonThatIsNotJsonIsRefused() throws Exception {
        Path zero = file("zero.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4);
        assertTrue(error(zero).contains("not valid JSON: Invalid numeric value: Leading zeroes not allowed"), error(zero));
        Path space = file("space.safetensors", " {\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        assertEquals("safetensors " + space + ": the header must start with '{' (a JSON object) at byte 8", error(space));
        Path dup = file("dup.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{}}", 4);
        assertTrue(error(dup).contains("Duplicate field 'a'"), error(dup));
        // trailing spaces are the format's padding and stay valid
        Path padded = file("padded.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}   ", 4);
        assertEquals(1, SafeTensors.read(padded).entries().size());
    }
}
