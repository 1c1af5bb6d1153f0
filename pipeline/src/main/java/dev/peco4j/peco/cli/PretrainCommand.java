package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.peco.pretrain.MimTrainer;
import dev.peco4j.peco.pretrain.PretrainConfig;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peco pretrain}: BEiT-style masked image modeling on a tokenizer's codes (PeCo's stage 2) or on pixels. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = {"Pre-train a ViT by masked image modeling (BEiT): predict, at block-wise masked patches, the codes of a frozen tokenizer",
                "(--target tokens --tokenizer <train-tokenizer checkpoint>) or the patches' normalized pixels (--target pixels).",
                "Writes config.json, metrics.jsonl, timing.jsonl, last.safetensors and plot.png to --out."})
final class PretrainCommand implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "subset", description = "subset, full, mnist, or a path (as train-classifier). Default ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--out", defaultValue = "runs/pretrain", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    RunOptions run;

    @Option(names = "--target", defaultValue = "tokens", description = "tokens (a tokenizer's codes) or pixels (default ${DEFAULT-VALUE}).")
    String target;

    @Option(names = "--tokenizer", defaultValue = "", description = {"The tokenizer whose codes are the targets: a train-tokenizer checkpoint",
            "(last.safetensors) or a taming VQGAN converted by scripts/convert-taming.py."})
    String tokenizer;

    @Option(names = "--tokenizer-groups", defaultValue = "32", description = "GroupNorm groups of a converted taming VQGAN (default ${DEFAULT-VALUE}, taming's).")
    int tokenizerGroups;

    @Option(names = "--tokenizer-size", defaultValue = "0",
            description = "The tokenizer's view size (default ${DEFAULT-VALUE}: patch grid × its downsampling factor, so codes and patches line up).")
    int tokenizerSize;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of weights, order, augmentation and masks (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--epochs", defaultValue = "5", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "128", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--model", defaultValue = "tiny", description = {"tiny (96 wide, 4 deep, 4 heads, MLP ratio 2), small (128, 6, 4, ratio 4),",
            "or a BEiT preset: beit_small_patch16_224_8k_vocab, beit_base_patch16_224_8k_vocab, beit_large_patch16_224_8k_vocab, beit_huge_patch14_224_8k_vocab",
            "(default ${DEFAULT-VALUE})."})
    String model;

    @Option(names = "--img-size", defaultValue = "28", description = "The ViT's input size (default ${DEFAULT-VALUE}).")
    int imgSize;

    @Option(names = "--patch-size", defaultValue = "4", description = "Patch size of tiny and small; presets have their own (default ${DEFAULT-VALUE}).")
    int patchSize;

    @Option(names = "--abs-pos-embed", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "Add a learned absolute position embedding (BEiT pre-training: off; the shared relative position bias is always on).")
    boolean absPosEmbed;

    @Option(names = "--base-lr", defaultValue = "0", description = {"AdamW lr = base-lr × batch / 256 (default 0: the model's: BEiT's 1.875e-4,",
            "i.e. 1.5e-3 for batches of 2048, for the BEiT presets; 6e-3 for tiny and small, measured on Fashion-MNIST)."})
    double baseLr;

    @Option(names = "--min-lr", defaultValue = "1e-5", description = "End of the cosine (BEiT: ${DEFAULT-VALUE}).")
    double minLr;

    @Option(names = "--warmup-epochs", defaultValue = "0.5", description = "Linear warm-up, in epochs (default ${DEFAULT-VALUE}).")
    double warmupEpochs;

    @Option(names = "--weight-decay", defaultValue = "0.05", description = "AdamW weight decay (BEiT: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--clip-grad", defaultValue = "3.0", description = "Gradient-norm clipping; 0 = none (BEiT: ${DEFAULT-VALUE}).")
    double clipGrad;

    @Option(names = "--drop-path", defaultValue = "0.1", description = "Stochastic depth rate of the last block (BEiT: ${DEFAULT-VALUE}).")
    double dropPath;

    @Option(names = "--layer-scale", defaultValue = "0.1", description = "LayerScale init; 0 = none (BEiT base: ${DEFAULT-VALUE}).")
    double layerScale;

    @Option(names = "--mask-patches", defaultValue = "0", description = "Patches masked per image (default 0: BEiT's 75 of 196 scaled to the grid).")
    int maskPatches;

    @Option(names = "--min-mask-patches", defaultValue = "0", description = "Smallest block (default 0: BEiT's 16 of 196 scaled to the grid).")
    int minMaskPatches;

    @Option(names = "--max-mask-patches", defaultValue = "0", description = "Largest block (default 0: --mask-patches).")
    int maxMaskPatches;

    @Option(names = "--min-aspect", defaultValue = "0.3", description = "Block aspect ratio in [min, 1/min], log-uniform (BEiT: ${DEFAULT-VALUE}).")
    double minAspect;

    @Option(names = "--crop-min", defaultValue = "0.4", description = {"Smallest area of the random resized crop (BEiT: 0.08; default ${DEFAULT-VALUE}: on",
            "28-px images larger crops are nearer the whole images; measured in the README)."})
    double cropMin;

    @Option(names = "--color-jitter", defaultValue = "0.4", description = "Brightness/contrast/saturation jitter; 0 = none (default ${DEFAULT-VALUE}).")
    double colorJitter;

    @Option(names = "--save-every", defaultValue = "0", description = "Also checkpoint every N steps (default ${DEFAULT-VALUE}: once per epoch).")
    int saveEvery;

    @Option(names = "--limit-train", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int limitTrain;

    @Option(names = "--eval-images", defaultValue = "2000", description = "Test images of each epoch's evaluation (0 = all; default ${DEFAULT-VALUE}).")
    int evalImages;

    @Mixin
    StepOptions length;

    @Override
    public Integer call() throws Exception {
        RunDir.Mode mode = run.apply();
        PretrainConfig cfg = new PretrainConfig(data, seed, epochs, batchSize, baseLr > 0 ? baseLr : PretrainConfig.defaultBaseLr(model), minLr, warmupEpochs, weightDecay, clipGrad, dropPath, layerScale, model,
                imgSize, patchSize, absPosEmbed, target, tokenizer, "", tokenizerSize, tokenizerGroups, maskPatches, minMaskPatches, maxMaskPatches, minAspect, cropMin, colorJitter,
                saveEvery, limitTrain, evalImages, length.steps, length.warmupSteps);
        Path ckpt = out.resolve(RunDir.CHECKPOINT);
        if (mode == RunDir.Mode.RESUME && Files.exists(ckpt)) {   // the stored config, with the options given here over it
            Map<String, Object> merged = run.overSaved(MimTrainer.savedConfig(Checkpoint.load(ckpt), ckpt).toMap(), cfg.toMap());
            merged.put("tokenizer_sha256", "");
            cfg = PretrainConfig.fromMap(merged);
        }
        TrainLoop.Result r = new MimTrainer(cfg, out, System.out).badImages(run.badImages()).device(run.device).run(mode);
        run.reportHostFallbacks(System.out);
        System.out.printf("final %s after %d steps; outputs in %s%n", r.eval().containsKey("test_accuracy")
                ? String.format("masked-token accuracy %.2f%% (chance %.2f%%), test loss %.4f", 100 * r.eval().get("test_accuracy"),
                100 * r.eval().get("chance_accuracy"), r.eval().get("test_loss"))
                : String.format("test loss %.4f", r.eval().get("test_loss")), r.steps(), out.toAbsolutePath());
        return 0;
    }
}
