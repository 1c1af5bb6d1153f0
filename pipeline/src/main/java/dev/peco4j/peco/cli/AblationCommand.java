package dev.peco4j.peco.cli;

import dev.peco4j.peco.experiments.Ablation;
import dev.peco4j.peco.experiments.AblationConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peco ablation}: the mini-PeCo ablation (see {@link Ablation}). */
@Command(name = "ablation", mixinStandardHelpOptions = true,
        description = {"The mini-PeCo ablation: MIM targets (pixel-trained tokenizer, PeCo tokenizers, pixels) and no pre-training, each fine-tuned and probed,",
                "over seeds; results.md, results.json, results.png and report.html in --out. A re-run keeps finished stages and resumes the others."})
final class AblationCommand implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "full", description = "The data (default ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--out", defaultValue = "runs/ablation", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seeds", defaultValue = "3", description = "Seeds per cell (default ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--perceptual-epochs", defaultValue = "5", description = "MoCo v3 epochs (default ${DEFAULT-VALUE}).")
    int perceptualEpochs;

    @Option(names = "--tokenizer-epochs", defaultValue = "1", description = "Epochs of each tokenizer (default ${DEFAULT-VALUE}).")
    int tokenizerEpochs;

    @Option(names = "--tokenizer-images", defaultValue = "20000", description = "Training images of each tokenizer (0 = all; default ${DEFAULT-VALUE}).")
    int tokenizerImages;

    @Option(names = "--pretrain-steps", defaultValue = "240", description = "MIM steps of 128 images per cell and seed (default ${DEFAULT-VALUE}).")
    long pretrainSteps;

    @Option(names = "--finetune-steps", defaultValue = "100", description = {"Fine-tuning steps of 128 images of every run, whatever its label fraction",
            "(default ${DEFAULT-VALUE}; a fifth of them warm up)."})
    long finetuneSteps;

    @Option(names = "--probe-epochs", defaultValue = "20", description = "Epochs of each linear probe (default ${DEFAULT-VALUE}).")
    int probeEpochs;

    @Option(names = "--probe-images", defaultValue = "10000", description = "Training images of the probes (0 = all; default ${DEFAULT-VALUE}).")
    int probeImages;

    @Option(names = "--fractions", defaultValue = "1,0.1,0.01", description = "Label fractions to fine-tune on (default ${DEFAULT-VALUE}).")
    String fractions;

    @Option(names = "--limit-train", defaultValue = "0", description = "The first N training images for every stage (0 = all).")
    int limitTrain;

    @Option(names = "--model", defaultValue = "tiny", description = "The ViT: tiny, small or a BEiT preset (as pretrain; default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--img-size", defaultValue = "28", description = {"Input size of every network, a multiple of 4; images are resized to it",
            "(default ${DEFAULT-VALUE}; e.g. 32 for an RGB folder of 32 px images)."})
    int imgSize;

    @Option(names = "--patch-size", defaultValue = "4", description = "Patch size of the tiny and small ViT (default ${DEFAULT-VALUE}).")
    int patchSize;

    @Option(names = "--resume", description = "Continue the ablation in --out (finished stages are kept, unfinished ones resumed).")
    boolean resume;

    @Option(names = "--threads", description = "Kernel threads (default: all cores). Results do not depend on it.")
    Integer threads;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "Where the training stages run: cpu, opencl[:N], cuda[:N] or auto (default ${DEFAULT-VALUE}); the probes run on the host.")
    String device;

    @Override
    public Integer call() throws Exception {
        if (threads != null) dev.peco4j.tensor.Device.configureCpu(threads);
        Path saved = out.resolve("ablation.json");
        String tokenizers = resume && java.nio.file.Files.exists(saved) ? savedTokenizers(saved) : Ablation.availableTokenizers();
        AblationConfig cfg = new AblationConfig(data, tokenizers, seeds, perceptualEpochs, tokenizerEpochs, tokenizerImages, pretrainSteps, finetuneSteps, probeEpochs,
                probeImages, fractions, limitTrain, model, imgSize, patchSize);
        new Ablation(cfg, out, args -> Main.commandLine().execute(withDevice(args).toArray(String[]::new)), System.out).run(resume);
        System.out.println("results: " + out.resolve("results.md") + ", " + out.resolve("report.html"));
        return 0;
    }

    /** A stage's command line with --device, for the commands that train (probes and reconstruction grids run on the host). */
    private java.util.List<String> withDevice(java.util.List<String> args) {
        if (!java.util.Set.of("train-perceptual", "train-tokenizer", "pretrain", "finetune").contains(args.get(0))) return args;
        java.util.List<String> out = new java.util.ArrayList<>(args);
        out.addAll(java.util.List.of("--device", device));
        return out;
    }

    /** The tokenizer cells an existing ablation was started with (they are part of its config). */
    private static String savedTokenizers(Path file) throws java.io.IOException {
        if (dev.peco4j.nn.io.Json.readObject(file).get("ablation") instanceof java.util.Map<?, ?> m
                && m.get("tokenizers") instanceof String t) {
            return t;
        }
        throw new IllegalArgumentException("ablation: " + file + " records no tokenizer cells (written by an older version?); choose another --out");
    }
}
