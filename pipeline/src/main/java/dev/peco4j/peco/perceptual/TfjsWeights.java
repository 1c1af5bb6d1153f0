package dev.peco4j.peco.perceptual;

import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.Tar;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The weights of a TF.js layers model as the npm package nsfwjs ships them, read straight from its
 * .tgz. Each file there is a browserified JavaScript module: {@code model.min.js} holds an object
 * literal whose {@code weightsManifest} lists every tensor (name, shape, dtype and its uint8/uint16
 * quantization {min, scale}); each {@code groupN-shardKofM.min.js} holds one base64 string, the
 * binary shard. A quantized value q stands for {@code min + scale · q} (tfjs's dequantization).
 *
 * <p>Everything is checked before it is used: the manifest goes through the project's bounded JSON
 * reader ({@link Json.Syntax#JAVASCRIPT}), every tensor's bytes must lie inside the shards and the
 * shards must hold nothing else, and the decoded shards' SHA-256 must be the published one when one
 * is given. Errors are IOExceptions naming the archive, the file and the tensor.
 *
 * <pre>{@code
 * TfjsWeights w = TfjsWeights.read(Path.of("data/npm/nsfwjs-4.4.0.tgz"), "mobilenet_v2", TfjsWeights.NSFWJS_MOBILENET_V2_SHA256);
 * Tensor k = w.tensors().get("Conv1/kernel"); // [3, 3, 3, 32], HWIO as Keras stores it
 * }</pre>
 */
public record TfjsWeights(String source, Map<String, Tensor> tensors) {
    /** SHA-256 of nsfwjs 4.4.0's decoded MobileNetV2 shard (2,619,461 bytes; ../shared/docs/data-sources.md §5). */
    public static final String NSFWJS_MOBILENET_V2_SHA256 = "8e7dddbb16acacc1bf1601b1b8a761e730ff934b7f2d7771312b2f000e5f5f13";
    private static final Pattern SHARD = Pattern.compile("exports=\"([A-Za-z0-9+/=]*)\"");

    public TfjsWeights {
        tensors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /**
     * Reads model {@code model} (a folder of package/dist/models/, e.g. mobilenet_v2) from an nsfwjs
     * .tgz; sha256 (or null) is the expected digest of its decoded shards, concatenated.
     */
    public static TfjsWeights read(Path tgz, String model, String sha256) throws IOException {
        if (!Files.isRegularFile(tgz)) {
            throw new IOException(tgz + ": no such file; fetch it with 'npm pack nsfwjs@4.4.0 --pack-destination data/npm' (scripts/setup-data.sh)");
        }
        String dir = "package/dist/models/" + model + "/";
        Map<String, byte[]> files = Tar.read(tgz, n -> n.startsWith(dir) && n.endsWith(".min.js"));
        String source = tgz + "!" + dir;
        byte[] topology = files.get(dir + "model.min.js");
        if (topology == null) throw new IOException(source + "model.min.js: missing (is this nsfwjs, and is '" + model + "' one of its models?)");
        Map<String, byte[]> shards = new LinkedHashMap<>();
        files.forEach((n, b) -> shards.put(n.substring(dir.length(), n.length() - ".min.js".length()), b));
        return parse(topology, shards, source, sha256);
    }

    /** From the bytes of model.min.js and of the shard files (by path without .min.js); source prefixes errors. */
    public static TfjsWeights parse(byte[] modelJs, Map<String, byte[]> shardJs, String source, String sha256) throws IOException {
        String where = source + "model.min.js";
        List<?> manifest = manifest(new String(modelJs, StandardCharsets.ISO_8859_1), where);
        Map<String, Tensor> out = new LinkedHashMap<>();
        MessageDigest digest = sha256();
        for (int g = 0; g < manifest.size(); g++) {
            String at = where + ": weightsManifest[" + g + "]";
            if (!(manifest.get(g) instanceof Map<?, ?> group) || !(group.get("paths") instanceof List<?> paths)
                    || !(group.get("weights") instanceof List<?> weights)) {
                throw new IOException(at + ": expected an object with 'paths' and 'weights' arrays");
            }
            java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
            for (Object p : paths) {
                if (!(p instanceof String path) || !shardJs.containsKey(path)) throw new IOException(at + ": shard " + p + " is not in " + source);
                data.writeBytes(shard(shardJs.get(path), source + path + ".min.js"));
            }
            byte[] bytes = data.toByteArray();
            digest.update(bytes);
            ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int w = 0; w < weights.size(); w++) {
                Entry e = Entry.of(weights.get(w), at + ".weights[" + w + "]");
                if (out.containsKey(e.name)) throw new IOException(at + ": tensor '" + e.name + "' appears twice");
                out.put(e.name, e.read(buf, at));
            }
            if (buf.hasRemaining()) {
                throw new IOException(at + ": " + buf.remaining() + " bytes of the shards " + paths + " are described by no tensor");
            }
        }
        if (sha256 != null) {
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equals(sha256)) {
                throw new IOException(source + ": the decoded shards' SHA-256 is " + got + ", expected " + sha256 + " (a damaged or different model)");
            }
        }
        return new TfjsWeights(source, out);
    }

    /** The weightsManifest array: the balanced [...] after "weightsManifest:", as a JavaScript object literal. */
    private static List<?> manifest(String js, String where) throws IOException {
        int key = js.indexOf("weightsManifest:");
        if (key < 0) throw new IOException(where + ": no weightsManifest (not a TF.js layers model)");
        int start = key + "weightsManifest:".length(), depth = 0;
        boolean inString = false;
        for (int i = start; i < js.length(); i++) {
            char c = js.charAt(i);
            if (inString) {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
            } else if (c == '"') {
                inString = true;
            } else if (c == '[' || c == '{') {
                depth++;
            } else if (c == ']' || c == '}') {
                if (--depth == 0) {
                    byte[] text = js.substring(start, i + 1).getBytes(StandardCharsets.ISO_8859_1);
                    Object manifest;
                    try {
                        manifest = Json.parse(text, where + " (weightsManifest)", Json.Syntax.JAVASCRIPT);
                    } catch (IllegalArgumentException e) {
                        throw new IOException(e.getMessage(), e);
                    }
                    if (!(manifest instanceof List<?> l)) throw new IOException(where + ": weightsManifest is not an array");
                    return l;
                }
                if (depth < 0) break;
            }
            if (i == start && c != '[') break;
        }
        throw new IOException(where + ": weightsManifest is not a complete [...] array");
    }

    private static byte[] shard(byte[] js, String where) throws IOException {
        Matcher m = SHARD.matcher(new String(js, StandardCharsets.ISO_8859_1));
        if (!m.find()) throw new IOException(where + ": no exports=\"<base64>\" string (not a TF.js weight shard)");
        try {
            return Base64.getDecoder().decode(m.group(1));
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": invalid base64 (" + e.getMessage() + ")", e);
        }
    }

    /** One manifest entry: name, shape, stored dtype (uint8, uint16 or float32) and the dequantization. */
    private record Entry(String name, int[] shape, int bytesPerValue, double min, double scale) {
        static Entry of(Object o, String at) throws IOException {
            if (!(o instanceof Map<?, ?> m) || !(m.get("name") instanceof String name) || !(m.get("shape") instanceof List<?> s)) {
                throw new IOException(at + ": expected {name, shape, dtype, quantization}");
            }
            String where = at + " ('" + name + "')";
            if (!"float32".equals(m.get("dtype"))) throw new IOException(where + ": dtype " + m.get("dtype") + " is not supported (float32)");
            int[] shape = new int[s.size()];
            long n = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!(s.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) throw new IOException(where + ": invalid shape " + s);
                shape[i] = (int) (long) d;
                n *= d;
                if (n > Integer.MAX_VALUE - 8) throw new IOException(where + ": shape " + s + " is too large");
            }
            if (!(m.get("quantization") instanceof Map<?, ?> q)) return new Entry(name, shape, 4, 0, 1);
            int bytes = switch (String.valueOf(q.get("dtype"))) {
                case "uint8" -> 1;
                case "uint16" -> 2;
                default -> throw new IOException(where + ": quantization dtype " + q.get("dtype") + " is not supported (uint8, uint16)");
            };
            if (!(q.get("min") instanceof Number min) || !(q.get("scale") instanceof Number scale)) {
                throw new IOException(where + ": quantization needs numbers 'min' and 'scale'");
            }
            return new Entry(name, shape, bytes, min.doubleValue(), scale.doubleValue());
        }

        Tensor read(ByteBuffer buf, String at) throws IOException {
            int n = 1;
            for (int d : shape) n *= d;
            if ((long) n * bytesPerValue > buf.remaining()) {
                throw new IOException(at + ": tensor '" + name + "' " + java.util.Arrays.toString(shape) + " needs " + (long) n * bytesPerValue
                        + " bytes, the shards have " + buf.remaining() + " left");
            }
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = switch (bytesPerValue) {
                    case 1 -> (float) (min + scale * (buf.get() & 0xff));
                    case 2 -> (float) (min + scale * (buf.getShort() & 0xffff));
                    default -> buf.getFloat();
                };
            }
            return Tensor.of(v, shape);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
