package dev.peco4j.peco.perceptual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.peco4j.tensor.Tensor;
import dev.peco4j.tensor.testing.Fuzz;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TF.js weights reader on a small hand-made model, on hostile variants of it, under the fuzzer, and on nsfwjs itself. */
class TfjsWeightsTest {
    @TempDir
    Path dir;

    static final String MANIFEST = "weightsManifest:[{paths:[\"group1-shard1of1\"],weights:[{name:\"conv/kernel\",shape:[2,3],dtype:\"float32\","
            + "quantization:{min:-.5,scale:.25,dtype:\"uint8\"}},{name:\"bn/gamma\",shape:[2],dtype:\"float32\"}]}]";

    /** The shard: 6 uint8 codes, then 2 float32 values. */
    static byte[] shard() {
        ByteBuffer b = ByteBuffer.allocate(6 + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0, 1, 2, 3, 4, (byte) 255}).putFloat(1.5f).putFloat(-2f);
        return b.array();
    }

    static byte[] modelJs(String manifest) {
        return ("!function(e){module.exports={modelTopology:{class_name:\"Model\",config:{layers:[]}}," + manifest + "}}();")
                .getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] shardJs(byte[] shard) {
        return ("!function(){module.exports=e();exports=\"" + Base64.getEncoder().encodeToString(shard) + "\"}();").getBytes(StandardCharsets.US_ASCII);
    }

    static TfjsWeights parse(String manifest, byte[] shard) throws IOException {
        return TfjsWeights.parse(modelJs(manifest), Map.of("group1-shard1of1", shardJs(shard)), "m.tgz!", null);
    }

    @Test
    void dequantizesAsTfjs() throws IOException {
        TfjsWeights w = parse(MANIFEST, shard());
        assertEquals(java.util.List.of("conv/kernel", "bn/gamma"), java.util.List.copyOf(w.tensors().keySet()));
        Tensor k = w.tensors().get("conv/kernel");
        assertEquals("[2, 3]", k.shape().toString());
        assertArrayEquals(new float[] {-0.5f, -0.25f, 0f, 0.25f, 0.5f, 63.25f}, k.toFloatArray()); // min + scale · q
        assertArrayEquals(new float[] {1.5f, -2f}, w.tensors().get("bn/gamma").toFloatArray());
    }

    private static String error(String manifest, byte[] shard) {
        return assertThrows(IOException.class, () -> parse(manifest, shard)).getMessage();
    }

    @Test
    void hostileModelsAreRefusedNamingFileAndTensor() {
        assertEquals("m.tgz!model.min.js: weightsManifest[0]: 1 bytes of the shards [group1-shard1of1] are described by no tensor",
                error(MANIFEST, Arrays.copyOf(shard(), 15)));
        assertEquals("m.tgz!model.min.js: weightsManifest[0]: tensor 'bn/gamma' [2] needs 8 bytes, the shards have 7 left",
                error(MANIFEST, Arrays.copyOf(shard(), 13)));
        assertEquals("m.tgz!model.min.js: weightsManifest[0].weights[0] ('conv/kernel'): quantization dtype int4 is not supported (uint8, uint16)",
                error(MANIFEST.replace("dtype:\"uint8\"", "dtype:\"int4\""), shard()));
        assertEquals("m.tgz!model.min.js: weightsManifest[0]: shard group9 is not in m.tgz!", error(MANIFEST.replace("group1-shard1of1", "group9"), shard()));
        assertEquals("m.tgz!model.min.js: no weightsManifest (not a TF.js layers model)", error("weights:[]", shard()));
        String deep = error("weightsManifest:" + "[".repeat(5000) + "]".repeat(5000), shard());
        assertTrue(deep.startsWith("m.tgz!model.min.js (weightsManifest): not valid JSON: Document nesting depth (65)"), deep);
        String cut = error(MANIFEST.substring(0, MANIFEST.length() - 3), shard());
        assertEquals("m.tgz!model.min.js: weightsManifest is not a complete [...] array", cut);
        IOException e = assertThrows(IOException.class, () -> TfjsWeights.parse(modelJs(MANIFEST),
                Map.of("group1-shard1of1", "exports=\"@@\"".getBytes(StandardCharsets.US_ASCII)), "m.tgz!", null));
        assertEquals("m.tgz!group1-shard1of1.min.js: no exports=\"<base64>\" string (not a TF.js weight shard)", e.getMessage());
        e = assertThrows(IOException.class, () -> TfjsWeights.parse(modelJs(MANIFEST), Map.of("group1-shard1of1", shardJs(shard())), "m.tgz!",
                "00".repeat(32)));
        assertTrue(e.getMessage().startsWith("m.tgz!: the decoded shards' SHA-256 is "), e.getMessage());
    }

    /** The small model as nsfwjs packs it: package/dist/models/tiny/{model,group1-shard1of1}.min.js in a .tgz. */
    static byte[] tgz() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("package/dist/models/tiny/model.min.js", modelJs(MANIFEST));
        files.put("package/dist/models/tiny/group1-shard1of1.min.js", shardJs(shard()));
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(b))) {
            for (var f : files.entrySet()) {
                TarArchiveEntry e = new TarArchiveEntry(f.getKey());
                e.setSize(f.getValue().length);
                e.setModTime(new java.util.Date(1_700_000_000_000L));
                tar.putArchiveEntry(e);
                tar.write(f.getValue());
                tar.closeArchiveEntry();
            }
        }
        return b.toByteArray();
    }

    @Test
    void readsFromATgzAndSurvivesTheFuzzer() throws Exception {
        byte[] valid = tgz();
        Path p = Files.write(dir.resolve("tiny.tgz"), valid);
        TfjsWeights want = TfjsWeights.read(p, "tiny", null);
        var target = new Fuzz.Target<>("tfjs", (bytes, name) -> {
            Path f = Files.write(dir.resolve(name), bytes);
            try {
                return TfjsWeights.read(f, "tiny", null);
            } finally {
                Files.delete(f);
            }
        }, Fuzz.namedExceptions(IOException.class), (o, m, got) -> {
            // the archive's CRC-32 covers every byte: what reads must be the model
            if (!got.tensors().keySet().equals(want.tensors().keySet())) return "accepted other tensors " + got.tensors().keySet();
            for (var e : want.tensors().entrySet()) {
                if (!Arrays.equals(e.getValue().toFloatArray(), got.tensors().get(e.getKey()).toFloatArray())) return "accepted other values in " + e.getKey();
            }
            return null;
        });
        System.out.println(Fuzz.run(target, valid, Fuzz.mutations(300), 9).assertClean());
    }

    @Test
    void aTruncatedNsfwjsArchiveIsAnErrorNamingIt() throws Exception {
        Path real = MobileNetV2Test.data("npm/nsfwjs-4.4.0.tgz");
        assumeTrue(Files.isRegularFile(real), "nsfwjs not installed (bash scripts/setup-data.sh)");
        byte[] all = Files.readAllBytes(real);
        Path cut = Files.write(dir.resolve("nsfwjs-cut.tgz"), Arrays.copyOf(all, all.length / 2));
        IOException e = assertThrows(IOException.class, () -> MobileNetV2.nsfwjs(cut));
        assertTrue(e.getMessage().startsWith(cut + ": corrupt or truncated .tgz at "), e.getMessage());
        Path missing = dir.resolve("none.tgz");
        e = assertThrows(IOException.class, () -> MobileNetV2.nsfwjs(missing));
        assertEquals(missing + ": no such file; fetch it with 'npm pack nsfwjs@4.4.0 --pack-destination data/npm' (scripts/setup-data.sh)", e.getMessage());
    }
}
