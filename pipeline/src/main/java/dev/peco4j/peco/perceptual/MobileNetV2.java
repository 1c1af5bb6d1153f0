package dev.peco4j.peco.perceptual;

import dev.peco4j.nn.BatchNorm2d;
import dev.peco4j.nn.Conv2d;
import dev.peco4j.nn.Linear;
import dev.peco4j.nn.Module;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Pool2dParams;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Keras's MobileNetV2 (alpha 1.0) with nsfwjs's classifier head, layer for layer, under Keras's layer
 * names, so the ImageNet weights that nsfwjs ships ({@link TfjsWeights}) load into it and its early
 * layers serve as a perceptual network. Tensors are NCHW here; Keras's NHWC/HWIO weights are
 * converted once, when loaded ({@link #load}).
 *
 * <p>Conv1_pad (zero padding bottom/right by 1) → Conv1 3×3 stride 2 → bn_Conv1 → ReLU6, then 17
 * inverted residual blocks ({@code expanded_conv}, {@code block_1} … {@code block_16}): 1×1 expand
 * (×6; none in the first) → BN → ReLU6 → [block_N_pad before a stride-2 block] depthwise 3×3
 * ('valid' after the pad at stride 2, 'same' at stride 1) → BN → ReLU6 → 1×1 project → BN, plus the
 * input when stride is 1 and the width is kept ({@code block_N_add}). Then Conv_1 1×1 to 1280 → BN →
 * ReLU6 and nsfwjs's head: 7×7 average pooling, dense 256 ReLU, dense 128 ReLU, dense 5 softmax.
 * Every BatchNorm has eps 1e-3 (Keras); the convolutions have no bias.
 *
 * <p>Layers {@code Conv1} through {@code block_10} are ImageNet's, frozen by nsfwjs; later ones were
 * fine-tuned for its 5-class content classifier, so {@link #features} only taps the first ones.
 *
 * <pre>{@code
 * MobileNetV2 net = MobileNetV2.nsfwjs(Path.of("data/npm/nsfwjs-4.4.0.tgz"));
 * Tensor probs = net.forward(images);                              // (B, 5): Drawing, Hentai, Neutral, Porn, Sexy
 * List<Tensor> maps = net.features(x, MobileNetV2.DEFAULT_TAPS);   // strides 2, 4, 8
 * }</pre>
 */
public final class MobileNetV2 extends Module {
    /** Where scripts/setup-data.sh puts nsfwjs 4.4.0 (its MobileNetV2 weights), relative to the project. */
    public static final java.nio.file.Path NSFWJS_TGZ = java.nio.file.Path.of("data/npm/nsfwjs-4.4.0.tgz");

    /** nsfwjs's classes, in the order of its head's outputs. */
    public static final List<String> NSFWJS_CLASSES = List.of("Drawing", "Hentai", "Neutral", "Porn", "Sexy");
    /** The perceptual taps of ../shared/docs/data-sources.md §3.1: strides 2, 4 and 8 (16, 24 and 32 channels). */
    public static final List<String> DEFAULT_TAPS = List.of("expanded_conv_project_BN", "block_2_add", "block_5_add");
    /** The last layer trained on ImageNet (nsfwjs froze Conv1 through block_10). */
    public static final String LAST_IMAGENET_LAYER = "block_10_project_BN";
    private static final double BN_EPS = 1e-3;
    /** The inverted residual settings (t expansion, c channels, n blocks, s stride of the first), as Keras's MobileNetV2. */
    private static final int[][] SETTINGS = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

    /** One Keras layer: its name and what it does to the running tensor (the block input is kept for the adds). */
    private record Layer(String name, UnaryOperator<Tensor> op, boolean blockStart, boolean add) {}

    private final List<Layer> layers = new ArrayList<>();
    private final Map<String, Integer> index = new LinkedHashMap<>();
    /** Keras weight name → the tensor it fills, and how (HWIO → OIHW and so on). */
    private final Map<String, Tensor> targets = new LinkedHashMap<>();
    private final Map<String, int[]> permutations = new LinkedHashMap<>();

    /** The architecture with PyTorch-default initial weights (use {@link #load} or {@link #nsfwjs} for the real ones). */
    public MobileNetV2(Generator gen) {
        layer("Conv1_pad", MobileNetV2::zeroPad);
        conv(gen, "Conv1", 3, 32, 3, 2, 0, 1);
        bn("bn_Conv1", 32);
        layer("Conv1_relu", Tensor::relu6);
        int in = 32, block = 0;
        for (int[] s : SETTINGS) {
            for (int i = 0; i < s[2]; i++, block++) {
                int stride = i == 0 ? s[3] : 1, hidden = in * s[0], out = s[1];
                String p = block == 0 ? "expanded_conv_" : "block_" + block + "_";
                boolean residual = stride == 1 && in == out;
                layers.add(new Layer(p + "start", x -> x, true, false)); // not a Keras layer: marks where the residual starts
                if (s[0] != 1) {
                    conv(gen, p + "expand", in, hidden, 1, 1, 0, 1);
                    bn(p + "expand_BN", hidden);
                    layer(p + "expand_relu", Tensor::relu6);
                }
                if (stride == 2) layer(p + "pad", MobileNetV2::zeroPad);
                conv(gen, p + "depthwise", hidden, hidden, 3, stride, stride == 1 ? 1 : 0, hidden);
                bn(p + "depthwise_BN", hidden);
                layer(p + "depthwise_relu", Tensor::relu6);
                conv(gen, p + "project", hidden, out, 1, 1, 0, 1);
                bn(p + "project_BN", out);
                if (residual) layers.add(new Layer(p + "add", x -> x, false, true));
                in = out;
            }
        }
        conv(gen, "Conv_1", in, 1280, 1, 1, 0, 1);
        bn("Conv_1_bn", 1280);
        layer("out_relu", Tensor::relu6);
        layer("average_pooling2d_1", x -> Functional.avgPool2d(x, Pool2dParams.of(7, 7, 0)).flatten(1, 3)); // 7×7 'valid', then flatten_1
        dense(gen, "dense_1", 1280, 256, Tensor::relu);
        dense(gen, "dense_2", 256, 128, Tensor::relu);
        dense(gen, "dense_3", 128, 5, x -> x.softmax(1));
        for (int i = 0; i < layers.size(); i++) index.put(layers.get(i).name(), i);
    }

    /** The network with nsfwjs 4.4.0's weights, read from its npm .tgz (checked against the published SHA-256). */
    public static MobileNetV2 nsfwjs(java.nio.file.Path tgz) throws java.io.IOException {
        MobileNetV2 net = new MobileNetV2(new Generator(0));
        net.load(TfjsWeights.read(tgz, "mobilenet_v2", TfjsWeights.NSFWJS_MOBILENET_V2_SHA256));
        net.eval();
        return net;
    }

    /**
     * The ZeroPadding2D before each stride-2 convolution: one zero row at the bottom and one column at
     * the right. Keras's correct_pad chose ((0, 1), (0, 1)) for the even sizes of a 224-px build, and
     * the saved model keeps those numbers for any input size, as tfjs runs it.
     */
    static Tensor zeroPad(Tensor x) {
        return x.pad(new int[] {0, 1, 0, 1}, 0);
    }

    private void layer(String name, UnaryOperator<Tensor> op) {
        layers.add(new Layer(name, op, false, false));
    }

    private void conv(Generator gen, String name, int in, int out, int k, int stride, int pad, int groups) {
        Conv2d c = child(name, new Conv2d(gen, Conv2d.Config.of(in, out, k).stride(stride).padding(pad).groups(groups).bias(false)));
        layer(name, c::forward);
        boolean depthwise = groups > 1;
        String key = name + (depthwise ? "/depthwise_kernel" : "/kernel");
        targets.put(key, c.weight);
        permutations.put(key, depthwise ? new int[] {2, 3, 0, 1} : new int[] {3, 2, 0, 1}); // HWC1 → C1HW, HWIO → OIHW
    }

    private void bn(String name, int channels) {
        BatchNorm2d b = child(name, new BatchNorm2d(channels, BN_EPS, 0.01, true, true));
        layer(name, b::forward);
        targets.put(name + "/gamma", b.weight);
        targets.put(name + "/beta", b.bias);
        targets.put(name + "/moving_mean", b.runningMean);
        targets.put(name + "/moving_variance", b.runningVar);
    }

    private void dense(Generator gen, String name, int in, int out, UnaryOperator<Tensor> activation) {
        Linear l = child(name, new Linear(gen, in, out));
        layer(name, x -> activation.apply(l.forward(x)));
        targets.put(name + "/kernel", l.weight);
        permutations.put(name + "/kernel", new int[] {1, 0});
        targets.put(name + "/bias", l.bias);
    }

    /**
     * Copies Keras's weights in (by Keras name, converted to this layout). Strict: every weight of
     * the file must have its place here and every place must be filled, with the same shape.
     */
    public void load(TfjsWeights w) {
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        targets.keySet().forEach(k -> { if (!w.tensors().containsKey(k)) missing.add(k); });
        w.tensors().forEach((k, v) -> {
            Tensor t = targets.get(k);
            if (t == null) {
                unexpected.add(k);
                return;
            }
            Tensor src = permutations.containsKey(k) ? v.permute(permutations.get(k)) : v;
            if (!src.shape().equals(t.shape())) mismatched.add(k + " " + v.shape() + " (here " + t.shape() + ")");
        });
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty()) {
            throw new IllegalArgumentException(w.source() + ": not nsfwjs's MobileNetV2: missing " + missing + ", unexpected " + unexpected
                    + ", mismatched " + mismatched);
        }
        try (var ignored = Autograd.noGrad()) {
            targets.forEach((k, t) -> {
                Tensor v = w.tensors().get(k);
                t.copyFrom((permutations.containsKey(k) ? v.permute(permutations.get(k)) : v).contiguous());
            });
        }
    }

    /** nsfwjs's class probabilities (B, 5) for images (B, 3, 224, 224) in [0, 1]. */
    @Override
    public Tensor forward(Tensor x) {
        return run(x, layers.size() - 1, null);
    }

    /**
     * The outputs (B, C, H, W) of the named layers (Keras names, in the order given), running no
     * layer past the last one asked for. Only the ImageNet layers (through {@value #LAST_IMAGENET_LAYER})
     * may be tapped. Input: images (B, 3, H, W) as Keras's preprocessing leaves them, in [-1, 1].
     */
    public List<Tensor> features(Tensor x, List<String> names) {
        int last = -1, limit = index.get(LAST_IMAGENET_LAYER);
        for (String n : names) {
            Integer i = index.get(n);
            if (i == null || n.endsWith("_start")) {
                throw new IllegalArgumentException("MobileNetV2: no layer '" + n + "' (Keras names such as " + String.join(", ", DEFAULT_TAPS) + ")");
            }
            if (i > limit) {
                throw new IllegalArgumentException("MobileNetV2: layer '" + n + "' was fine-tuned by nsfwjs for its content classifier; "
                        + "perceptual features come from the ImageNet layers, Conv1_pad through " + LAST_IMAGENET_LAYER);
            }
            last = Math.max(last, i);
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        run(x, last, out);
        List<Tensor> maps = new ArrayList<>();
        for (String n : names) maps.add(out.get(n));
        return maps;
    }

    /** Keras's layer names, in order. */
    public List<String> layerNames() {
        return index.keySet().stream().filter(n -> !n.endsWith("_start")).toList();
    }

    private Tensor run(Tensor x, int last, Map<String, Tensor> taps) {
        if (x.dim() != 4 || x.size(1) != 3) throw new IllegalArgumentException("MobileNetV2: input " + x.shape() + " is not (B, 3, H, W)");
        Tensor blockInput = null;
        for (int i = 0; i <= last; i++) {
            Layer l = layers.get(i);
            if (l.blockStart()) blockInput = x;
            x = l.add() ? x.add(blockInput) : l.op().apply(x);
            if (taps != null) taps.put(l.name(), x);
        }
        return x;
    }
}
