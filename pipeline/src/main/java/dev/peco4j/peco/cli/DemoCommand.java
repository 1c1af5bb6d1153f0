package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.experiments.HtmlReport;
import dev.peco4j.peco.train.MetricsLog;
import dev.peco4j.peco.train.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code peco demo}: PeCo end to end on the embedded Fashion-MNIST subset, each stage one of the
 * commands: MoCo v3 (the perceptual network), the perceptual VQGAN tokenizer, MIM pre-training on its
 * codes, then fine-tuning of the pre-trained ViT and of the same ViT from scratch with the same budget.
 * Prints both accuracies and writes report.html (results, curves, reconstructions and code maps).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"PeCo end to end on the embedded data (about 7 minutes on 2 cores): MoCo v3 -> perceptual tokenizer -> MIM pre-training -> fine-tuning,",
                "against fine-tuning from scratch with the same budget. Writes every stage's run and report.html to --out."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "runs/demo", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of every stage (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--resume", description = "Continue the stages in --out (finished ones are kept).")
    boolean resume;

    @Option(names = "--overwrite", description = "Replace the stages in --out.")
    boolean overwrite;

    @Option(names = "--threads", description = "Kernel threads (default: all cores).")
    Integer threads;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "Where every stage trains: cpu, opencl[:N], cuda[:N] or auto (default ${DEFAULT-VALUE}).")
    String device;

    /** One stage: its folder under --out and its command line. */
    record Stage(String dir, String title, List<String> args) {}

    List<Stage> stages() {
        String s = Long.toString(seed);
        Path p = out.resolve("perceptual"), t = out.resolve("tokenizer"), m = out.resolve("pretrain");
        return List.of(
                new Stage("perceptual", "MoCo v3 ViT (the perceptual network)", List.of("train-perceptual", "--epochs", "8", "--probe-epochs", "0", "--knn-train", "0")),
                new Stage("tokenizer", "perceptual VQGAN tokenizer", List.of("train-tokenizer", "--epochs", "4", "--batch-size", "32", "--eval-images", "256",
                        "--perceptual", "moco:" + p.resolve(RunDir.CHECKPOINT))),
                new Stage("pretrain", "MIM pre-training on its codes", List.of("pretrain", "--epochs", "10", "--eval-images", "500", "--tokenizer",
                        t.resolve(RunDir.CHECKPOINT).toString())),
                new Stage("finetune", "fine-tuning of the pre-trained ViT", List.of("finetune", "--epochs", "10", "--init", m.resolve(RunDir.CHECKPOINT).toString())),
                new Stage("scratch", "fine-tuning from scratch (same recipe and budget)", List.of("finetune", "--epochs", "10")));
    }

    @Override
    public Integer call() throws Exception {
        if (resume && overwrite) throw new IllegalArgumentException("demo: --resume and --overwrite exclude each other");
        Map<String, Double> seconds = new LinkedHashMap<>();
        for (Stage st : stages()) {
            List<String> args = new ArrayList<>(st.args());
            args.addAll(List.of("--data", "subset", "--seed", Long.toString(seed), "--out", out.resolve(st.dir()).toString()));
            if (resume) args.add("--resume");
            if (overwrite) args.add("--overwrite");
            if (threads != null) args.addAll(List.of("--threads", threads.toString()));
            args.addAll(List.of("--device", device));
            System.out.println("\n== demo: " + st.title() + ": peco " + String.join(" ", args));
            long t0 = System.nanoTime();
            int rc = Main.commandLine().execute(args.toArray(String[]::new));
            if (rc != 0) throw new IllegalStateException("demo: the stage '" + st.dir() + "' failed (exit " + rc + "); its output is above");
            seconds.put(st.dir(), (System.nanoTime() - t0) / 1e9);
        }
        Path recon = out.resolve("reconstruction.png");
        int rc = Main.commandLine().execute("reconstruct", "--checkpoint", out.resolve("tokenizer").resolve(RunDir.CHECKPOINT).toString(), "--data", "subset",
                "--out", recon.toString());
        if (rc != 0) throw new IllegalStateException("demo: the reconstruction grid failed (exit " + rc + ")");
        Map<String, Object> pre = MetricsLog.lastEval(out.resolve("finetune")), scr = MetricsLog.lastEval(out.resolve("scratch"));
        double a = MetricsLog.number(pre, "test_accuracy"), b = MetricsLog.number(scr, "test_accuracy");
        report(seconds, recon, a, b);
        System.out.printf("%nfine-tuned after MIM pre-training on the perceptual codes: test accuracy %.2f%%%nthe same ViT from scratch, same budget:             "
                + "test accuracy %.2f%%%nreport: %s%n", 100 * a, 100 * b, out.resolve("report.html").toAbsolutePath());
        return 0;
    }

    private void report(Map<String, Double> seconds, Path recon, double pretrained, double scratch) throws java.io.IOException {
        Map<String, Object> perc = MetricsLog.lastEval(out.resolve("perceptual")), tok = MetricsLog.lastEval(out.resolve("tokenizer")), mim = MetricsLog.lastEval(out.resolve("pretrain"));
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("perceptual", "MoCo v3 ViT", String.format("k-NN accuracy %.2f%%", 100 * MetricsLog.number(perc, "knn_accuracy")), time(seconds, "perceptual")));
        rows.add(List.of("tokenizer", "VQGAN, MoCo v3 perceptual loss", String.format("PSNR %.2f dB, %.1f%% of codes used, perplexity %.1f", MetricsLog.number(tok, "psnr"),
                100 * MetricsLog.number(tok, "codes_used"), MetricsLog.number(tok, "perplexity")), time(seconds, "tokenizer")));
        rows.add(List.of("pretrain", "MIM on the codes", String.format("masked-token accuracy %.2f%% (chance %.2f%%, most frequent code %.2f%%)",
                100 * MetricsLog.number(mim, "test_accuracy"), 100 * MetricsLog.number(mim, "chance_accuracy"), 100 * MetricsLog.number(mim, "majority_accuracy")), time(seconds, "pretrain")));
        rows.add(List.of("finetune", "from the MIM checkpoint", String.format("test accuracy %.2f%%", 100 * pretrained), time(seconds, "finetune")));
        rows.add(List.of("scratch", "from scratch, same recipe", String.format("test accuracy %.2f%%", 100 * scratch), time(seconds, "scratch")));
        HtmlReport r = new HtmlReport("peco demo: PeCo end to end on the embedded Fashion-MNIST subset");
        r.paragraph("2,000 training and 1,000 test images of Fashion-MNIST (28x28, embedded in the jar), seed " + seed + ". Each stage is one peco command; "
                + "its folder under " + out + " holds its config, metrics, checkpoint and plot. One seed: differences of a few points can be noise.");
        r.heading("Results").table(List.of("stage", "what", "result (test images)", "wall time"), rows);
        r.paragraph(String.format("Fine-tuning after MIM pre-training on the perceptual codes: %.2f%%; from scratch with the same budget: %.2f%% (%+.2f points).",
                100 * pretrained, 100 * scratch, 100 * (pretrained - scratch)));
        r.heading("Tokenizer: reconstructions and code maps").figure(recon, "originals, reconstructions and code maps of test images (reconstruct)")
                .figure(out.resolve("tokenizer").resolve(RunDir.CODES), "codebook usage on the test images")
                .figure(out.resolve("tokenizer").resolve(RunDir.PLOT), "tokenizer training");
        r.heading("Curves").figure(out.resolve("perceptual").resolve(RunDir.PLOT), "MoCo v3: loss and k-NN accuracy")
                .figure(out.resolve("pretrain").resolve(RunDir.PLOT), "MIM: loss and masked-token accuracy")
                .figure(out.resolve("finetune").resolve(RunDir.PLOT), "fine-tuning the pre-trained ViT")
                .figure(out.resolve("scratch").resolve(RunDir.PLOT), "fine-tuning from scratch");
        List<String> cmds = new ArrayList<>();
        for (Stage st : stages()) cmds.add("peco " + String.join(" ", st.args()) + " --data subset --seed " + seed + " --out " + out.resolve(st.dir()));
        r.heading("Commands").code(String.join("\n", cmds));
        r.write(out.resolve("report.html"));
    }

    private static String time(Map<String, Double> seconds, String k) {
        Double s = seconds.get(k);
        return s == null ? "" : String.format("%d:%02d", (int) (s / 60), (int) (s % 60));
    }
}
