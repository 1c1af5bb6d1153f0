package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.peco.tokenizer.TokenizerConfig;
import dev.peco4j.peco.tokenizer.TokenizerTrainer;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peco train-tokenizer}: PeCo's perceptual codebook, a VQGAN trained with pixel, perceptual, VQ and (optionally) GAN losses. */
@Command(name = "train-tokenizer", mixinStandardHelpOptions = true,
        description = {"Train a VQGAN tokenizer (taming's VQModel) with a pixel, a perceptual, a codebook and an optional adversarial loss.",
                "Writes config.json, metrics.jsonl, last.safetensors and plot.png to --out."})
final class TrainTokenizerCommand implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "subset", description = "subset, full, mnist, or a path (as train-classifier). Default ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--out", defaultValue = "runs/tokenizer", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    RunOptions run;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of weights, order and augmentation (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default ${DEFAULT-VALUE}: the full Fashion-MNIST in ~17 min on 2 cores without a perceptual net).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "64", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Adam(0.5, 0.9) learning rate of both optimizers, constant as taming's (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--preset", defaultValue = "small", description = "small (f 4: 28 px → 7×7 codes, widths 16/32/32) or vqgan-f16 (taming's ImageNet f16, 8192 codes). Default ${DEFAULT-VALUE}.")
    String preset;

    @Option(names = "--img-size", defaultValue = "0", description = "Resize images to this size (0: as stored; vqgan-f16: 224 → 14×14 codes).")
    int imgSize;

    @Option(names = "--codes", defaultValue = "0", description = "Codebook size (0: the preset's, 256 / 8192).")
    int codes;

    @Option(names = "--lookup-dim", defaultValue = "0", description = "Look codes up in this many dimensions (project in and out; 0: the code width).")
    int lookupDim;

    @Option(names = "--cosine", negatable = true, defaultValue = "false", fallbackValue = "true", description = "ℓ2-normalize codes and encoder outputs before the lookup.")
    boolean cosine;

    @Option(names = "--ema-decay", defaultValue = "0", description = "Move codes by an EMA of their vectors with this decay (0: train them by gradient).")
    double emaDecay;

    @Option(names = "--kmeans-iters", defaultValue = "10", description = "k-means iterations over the first batch to place the codes (0: taming's uniform init). Default ${DEFAULT-VALUE}.")
    int kmeansIters;

    @Option(names = "--dead-after", defaultValue = "100", description = "Re-seed a code unused for this many steps from the batch (0: never). Default ${DEFAULT-VALUE}.")
    int deadAfter;

    @Option(names = "--loss-form", defaultValue = "paper", description = "paper (β on commitment) or legacy (taming's released models). Default ${DEFAULT-VALUE}.")
    String lossForm;

    @Option(names = "--beta", defaultValue = "0.25", description = "Commitment weight β (default ${DEFAULT-VALUE}).")
    double beta;

    @Option(names = "--pixel-loss", defaultValue = "l1", description = "l1 (taming) or l2 (default ${DEFAULT-VALUE}).")
    String pixelLoss;

    @Option(names = "--perceptual", defaultValue = "none", description = {"none, mobilenetv2 (data/npm/nsfwjs-4.4.0.tgz), moco:<train-perceptual checkpoint> or vit:<safetensors>",
                    "(a MoCo-v3 ViT with timm's names, e.g. from scripts/convert-moco-v3.py). Default ${DEFAULT-VALUE}."})
    String perceptual;

    @Option(names = "--perceptual-weight", defaultValue = "1.0", description = "λ of the perceptual loss (taming's perceptual_weight; default ${DEFAULT-VALUE}).")
    double perceptualWeight;

    @Option(names = "--perceptual-norm", defaultValue = "unit",
            description = "Per-layer feature normalization: none, unit (LPIPS: each position's features of length 1), layer_norm. Default ${DEFAULT-VALUE}.")
    String perceptualNorm;

    @Option(names = "--codebook-weight", defaultValue = "1.0", description = "Weight of the VQ loss (default ${DEFAULT-VALUE}).")
    double codebookWeight;

    @Option(names = "--disc-weight", defaultValue = "0.8", description = "Weight of the adaptive GAN loss (taming's disc_weight; default ${DEFAULT-VALUE}).")
    double discWeight;

    @Option(names = "--disc-start", defaultValue = "-1", description = "First step of the GAN loss (-1: never, the CPU default). taming: 250001 (ImageNet), 10000.")
    long discStart;

    @Option(names = "--disc-loss", defaultValue = "hinge", description = "hinge or vanilla (default ${DEFAULT-VALUE}).")
    String discLoss;

    @Option(names = "--save-every", defaultValue = "0", description = "Also checkpoint every N steps (default ${DEFAULT-VALUE}: once per epoch).")
    int saveEvery;

    @Option(names = "--limit-train", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int limitTrain;

    @Option(names = "--eval-images", defaultValue = "0", description = "Test images of each evaluation (0 = all).")
    int evalImages;

    @Override
    public Integer call() throws Exception {
        RunDir.Mode mode = run.apply();
        TokenizerConfig cfg = new TokenizerConfig(data, seed, epochs, batchSize, lr, preset, imgSize, codes, lookupDim, cosine, emaDecay, kmeansIters, deadAfter,
                lossForm, beta, pixelLoss, perceptual, perceptualWeight, perceptualNorm, codebookWeight, discWeight, discStart, discLoss, saveEvery,
                limitTrain, evalImages);
        Path ckpt = out.resolve(RunDir.CHECKPOINT);
        if (mode == RunDir.Mode.RESUME && Files.exists(ckpt)) {
            cfg = TokenizerConfig.fromMap(run.overSaved(TokenizerTrainer.savedConfig(Checkpoint.load(ckpt), ckpt).toMap(), cfg.toMap()));
        }
        TrainLoop.Result r = new TokenizerTrainer(cfg, out, System.out).badImages(run.badImages()).device(run.device).run(mode);
        run.reportHostFallbacks(System.out);
        System.out.printf("final PSNR %.2f dB, codes used %.1f%% (perplexity %.1f) after %d steps; outputs in %s%n", r.eval().get("psnr"),
                100 * r.eval().get("codes_used"), r.eval().get("perplexity"), r.steps(), out.toAbsolutePath());
        return 0;
    }
}
