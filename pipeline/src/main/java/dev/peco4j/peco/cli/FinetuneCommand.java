package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.Checkpoint;
import dev.peco4j.peco.finetune.FineTuner;
import dev.peco4j.peco.finetune.FinetuneConfig;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peco finetune}: BEiT's fine-tuning recipe on a pre-trained (or a fresh) ViT. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Fine-tune a ViT classifier with BEiT's recipe: from a pretrain checkpoint (--init) or from scratch.",
                "Writes config.json, metrics.jsonl, timing.jsonl, last.safetensors, best.safetensors and plot.png to --out."})
final class FinetuneCommand implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "subset", description = "subset, full, mnist, or a path (as train-classifier). Default ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--out", defaultValue = "runs/finetune", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    RunOptions run;

    @Option(names = "--init", defaultValue = "", description = "A pretrain checkpoint (last.safetensors) to start from; none: from scratch.")
    String init;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the head, order, augmentation and mixing (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--epochs", defaultValue = "10", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "128", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--base-lr", description = {"AdamW lr = base-lr × batch / 256 (default: the model's, --init's when given: BEiT's 1e-3 (4e-3 at",
            "batch 1024) for ViT-B, 2.5e-4 for ViT-L; 4e-3 for tiny and small, measured on the embedded subset)."})
    Double baseLr;

    @Option(names = "--min-lr", defaultValue = "1e-6", description = "End of the cosine (BEiT: ${DEFAULT-VALUE}).")
    double minLr;

    @Option(names = "--warmup-epochs", defaultValue = "1", description = "Linear warm-up, in epochs (default ${DEFAULT-VALUE}).")
    double warmupEpochs;

    @Option(names = "--weight-decay", defaultValue = "0.05", description = "AdamW weight decay (BEiT: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--layer-decay", description = "Layer-wise lr decay (default: the model's: BEiT's 0.65 for ViT-B, 0.75 for ViT-L; 0.75 for tiny and small).")
    Double layerDecay;

    @Option(names = "--drop-path", description = "Stochastic depth of the last block (default: the model's: BEiT's 0.1 for ViT-B, 0.2 for ViT-L; 0.1 for tiny, small).")
    Double dropPath;

    @Option(names = "--clip-grad", defaultValue = "0", description = "Gradient-norm clipping; 0 = none (BEiT's default).")
    double clipGrad;

    @Option(names = "--label-smoothing", defaultValue = "0.1", description = "Label smoothing (BEiT: ${DEFAULT-VALUE}).")
    double smoothing;

    @Option(names = "--mixup", defaultValue = "0.8", description = "Mixup alpha; 0 = off (BEiT: ${DEFAULT-VALUE}).")
    double mixup;

    @Option(names = "--cutmix", defaultValue = "1.0", description = "CutMix alpha; 0 = off (BEiT: ${DEFAULT-VALUE}).")
    double cutmix;

    @Option(names = "--mixup-prob", defaultValue = "1.0", description = "Probability of mixing a batch (BEiT: ${DEFAULT-VALUE}).")
    double mixupProb;

    @Option(names = "--mixup-switch-prob", defaultValue = "0.5", description = "Probability of CutMix when both are on (BEiT: ${DEFAULT-VALUE}).")
    double mixupSwitchProb;

    @Option(names = "--aa", defaultValue = "rand-m9-mstd0.5-inc1", description = "RandAugment as timm's string, or none (BEiT: ${DEFAULT-VALUE}).")
    String aa;

    @Option(names = "--reprob", defaultValue = "0.25", description = "Random erasing probability (BEiT: ${DEFAULT-VALUE}).")
    double reprob;

    @Option(names = "--model-ema", defaultValue = "0", description = "Decay of an EMA of the weights, also evaluated; 0 = off (timm: 0.9999).")
    double modelEma;

    @Option(names = "--head-init-scale", defaultValue = "0.001", description = "The head's init times this (BEiT: ${DEFAULT-VALUE}).")
    double headInitScale;

    @Option(names = "--decay-rel-pos", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Weight decay on the relative position tables (BEiT's default; --no-decay-rel-pos is its --disable_weight_decay_on_rel_pos_bias).")
    boolean decayRelPos;

    @Option(names = "--model", defaultValue = "tiny", description = "Without --init: tiny, small or a BEiT preset (as pretrain; default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--img-size", defaultValue = "0", description = {"The input size (default 0: the pre-training's, or 28 from scratch). Another",
            "size than the pre-training's resizes the position biases as BEiT does."})
    int imgSize;

    @Option(names = "--patch-size", defaultValue = "4", description = "Without --init: the patch size of tiny and small (default ${DEFAULT-VALUE}).")
    int patchSize;

    @Option(names = "--layer-scale", defaultValue = "0.1", description = "Without --init: LayerScale init (default ${DEFAULT-VALUE}).")
    double layerScale;

    @Option(names = "--label-fraction", defaultValue = "1", description = "Share of each class's training labels to fine-tune on (0.01, 0.1: label-scarce; default ${DEFAULT-VALUE}).")
    double labelFraction;

    @Option(names = "--save-every", defaultValue = "0", description = "Also checkpoint every N steps (default ${DEFAULT-VALUE}: once per epoch).")
    int saveEvery;

    @Option(names = "--limit-train", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int limitTrain;

    @Mixin
    StepOptions length;

    @Option(names = "--eval-every", defaultValue = "1", description = "Evaluate every N epochs and after the last step (0: only after the last; default ${DEFAULT-VALUE}).")
    int evalEvery;

    @Override
    public Integer call() throws Exception {
        RunDir.Mode mode = run.apply();
        FinetuneConfig.Recipe recipe = FinetuneConfig.recipe(init.isEmpty() ? model : FineTuner.initConfig(Path.of(init)).model());
        FinetuneConfig cfg = new FinetuneConfig(data, seed, epochs, batchSize, baseLr != null ? baseLr : recipe.baseLr(), minLr, warmupEpochs, weightDecay,
                layerDecay != null ? layerDecay : recipe.layerDecay(), dropPath != null ? dropPath : recipe.dropPath(), clipGrad, smoothing,
                mixup, cutmix, mixupProb, mixupSwitchProb, aa, reprob, modelEma, headInitScale, decayRelPos, init, "", model, imgSize, patchSize, layerScale, labelFraction, saveEvery,
                limitTrain, length.steps, length.warmupSteps, evalEvery);
        Path ckpt = out.resolve(RunDir.CHECKPOINT);
        if (mode == RunDir.Mode.RESUME && Files.exists(ckpt)) {   // the stored config, with the options given here over it
            var merged = run.overSaved(FineTuner.savedConfig(Checkpoint.load(ckpt), ckpt).toMap(), cfg.toMap());
            merged.put("init_sha256", "");
            cfg = FinetuneConfig.fromMap(merged);
        }
        cfg = FineTuner.resolveInit(cfg);
        TrainLoop.Result r = new FineTuner(cfg, out, System.out).badImages(run.badImages()).device(run.device).run(mode);
        run.reportHostFallbacks(System.out);
        System.out.printf("final test accuracy %.2f%% (best %.2f%%) after %d steps; outputs in %s%n", 100 * r.eval().get("test_accuracy"),
                100 * r.eval().get("best_test_accuracy"), r.steps(), out.toAbsolutePath());
        return 0;
    }
}
