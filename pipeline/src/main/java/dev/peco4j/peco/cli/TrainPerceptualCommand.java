package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.peco.perceptual.MocoTrainer;
import dev.peco4j.peco.perceptual.PerceptualConfig;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code peco train-perceptual}: a self-supervised ViT trained with MoCo v3 (the perceptual network
 * of PeCo), with a k-NN monitor after every epoch and final k-NN and linear probes against the random
 * initialization and raw pixels.
 */
@Command(name = "train-perceptual", mixinStandardHelpOptions = true,
        description = {"Train a self-supervised ViT with MoCo v3 (labels unused; they only score the k-NN and linear probes).",
                "Writes config.json, metrics.jsonl, last.safetensors, plot.png and probes.json to --out."})
final class TrainPerceptualCommand implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "subset",
            description = "subset, full, mnist, or a path (as train-classifier). Default ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--out", defaultValue = "runs/perceptual", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    RunOptions run;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of weights, order and augmentation (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--epochs", defaultValue = "9", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "128", description = "Batch size: the contrastive negatives (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--base-lr", defaultValue = "3e-3", description = {"AdamW lr = base-lr × batch / 256, MoCo v3's ViT rule (default ${DEFAULT-VALUE};",
            "MoCo v3 uses 1.5e-4 with batches of 4096, lr 2.4e-3)."})
    double baseLr;

    @Option(names = "--warmup-epochs", defaultValue = "0.5", description = "Linear warm-up, in epochs (default ${DEFAULT-VALUE}).")
    double warmupEpochs;

    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay, MoCo v3's for ViTs (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--img-size", defaultValue = "28", description = "Encoder input size; images are resized to it (default ${DEFAULT-VALUE}).")
    int imgSize;

    @Option(names = "--patch-size", defaultValue = "7", description = "Encoder patch size: (img/patch)² tokens (default ${DEFAULT-VALUE}).")
    int patchSize;

    @Option(names = "--width", defaultValue = "96", description = "Encoder width, a multiple of 4 (default ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--depth", defaultValue = "4", description = "Encoder blocks (default ${DEFAULT-VALUE}).")
    int depth;

    @Option(names = "--heads", defaultValue = "4", description = "Attention heads (default ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--mlp-ratio", defaultValue = "2", description = "Block MLP width / width (default ${DEFAULT-VALUE}).")
    double mlpRatio;

    @Option(names = "--dim", defaultValue = "128", description = "Output width of projector and predictor (default ${DEFAULT-VALUE}).")
    int dim;

    @Option(names = "--mlp-dim", defaultValue = "512", description = "Hidden width of projector and predictor (MoCo v3: 4096; default ${DEFAULT-VALUE}).")
    int mlpDim;

    @Option(names = "--temperature", defaultValue = "0.2", description = "Softmax temperature τ (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--momentum", defaultValue = "0.99", description = "Momentum at the start, rising to 1 on a half cosine (default ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--stop-grad-conv1", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "Keep the random patch projection frozen, MoCo v3's stability trick for large ViTs (default off: the small ViT learns better with it trained).")
    boolean stopGradConv1;

    @Option(names = "--crop-min", defaultValue = "0.8",
            description = "Smallest area of the random resized crop (MoCo v3: 0.08; default ${DEFAULT-VALUE}: 28-pixel images keep their class in larger crops).")
    double cropMin;

    @Option(names = "--save-every", defaultValue = "0", description = "Also checkpoint every N steps (default ${DEFAULT-VALUE}: once per epoch).")
    int saveEvery;

    @Option(names = "--limit-train", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int limitTrain;

    @Option(names = "--knn-train", defaultValue = "10000", description = "Training images in the k-NN bank of each epoch's evaluation (0 = all; default ${DEFAULT-VALUE}).")
    int knnTrain;

    @Option(names = "--probe-epochs", defaultValue = "50", description = "Epochs of the final linear probes; 0 skips the final probes (default ${DEFAULT-VALUE}).")
    int probeEpochs;

    @Override
    public Integer call() throws Exception {
        RunDir.Mode mode = run.apply();
        PerceptualConfig cfg = new PerceptualConfig(data, seed, epochs, batchSize, baseLr, warmupEpochs, weightDecay, imgSize, patchSize, width, depth, heads, mlpRatio, dim,
                mlpDim, temperature, momentum, stopGradConv1, cropMin, saveEvery, limitTrain, knnTrain, probeEpochs);
        Path ckpt = out.resolve(RunDir.CHECKPOINT);
        if (mode == RunDir.Mode.RESUME && Files.exists(ckpt)) {   // the stored config, with the options given here over it
            cfg = PerceptualConfig.fromMap(run.overSaved(MocoTrainer.savedConfig(Checkpoint.load(ckpt), ckpt).toMap(), cfg.toMap()));
        }
        TrainLoop.Result r = new MocoTrainer(cfg, out, System.out).badImages(run.badImages()).device(run.device).run(mode);
        run.reportHostFallbacks(System.out);
        System.out.printf("final k-NN accuracy %.2f%% after %d steps; outputs in %s%n", 100 * r.eval().get("knn_accuracy"), r.steps(),
                out.toAbsolutePath());
        return 0;
    }
}
