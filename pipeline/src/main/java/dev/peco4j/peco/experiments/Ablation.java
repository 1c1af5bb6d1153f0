package dev.peco4j.peco.experiments;

import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.train.ConfigFields;
import dev.peco4j.peco.train.MetricsLog;
import dev.peco4j.peco.train.RunDir;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The mini-PeCo ablation: does a perceptual codebook make a better MIM target than a pixel-trained
 * one? Shared stages, each trained once: the MoCo v3 perceptual network and the tokenizers (pixel-only
 * {@code none}, PeCo's {@code moco}, and {@code mobilenetv2} when its weights are installed). Cells:
 * MIM on each tokenizer's codes, MIM on normalized pixels, and no pre-training; per cell and seed the
 * same fine-tuning recipe on all labels and on each label fraction, and probes of the frozen ViT (for
 * no pre-training: the ViT the baseline's pre-training starts from). Every stage is one peco command in a folder of its own; a re-run skips the
 * stages that finished (a "done" file) and resumes the others. Results: mean ± std over seeds and
 * Welch's t-test of each cell against the pixel tokenizer.
 */
public final class Ablation {
    /** The cells, in the table's order; BASELINE is the pixel-trained tokenizer (BEiT-like). */
    public static final String BASELINE = "tok-none";

    private final AblationConfig cfg;
    private final Path out;
    private final Function<List<String>, Integer> peco;
    private final PrintStream log;

    /** peco: runs one command line of the CLI and returns its exit code. */
    public Ablation(AblationConfig cfg, Path out, Function<List<String>, Integer> peco, PrintStream log) {
        this.cfg = cfg;
        this.out = out;
        this.peco = peco;
        this.log = log;
    }

    /**
     * A new ablation needs an empty or new folder; an existing one continues only with resume, and only
     * under the same config (else an error naming the file and the fields; nothing is changed). Writes
     * ablation.json for a new one.
     */
    void checkFolder(boolean resume) throws IOException {
        Path file = out.resolve("ablation.json");
        String json = Json.write(Map.of("ablation", cfg.toMap()));
        if (!Files.exists(file) && Files.isDirectory(out)) {
            try (var entries = Files.list(out)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException("ablation: " + out + " is not empty and holds no ablation.json; choose another --out");
                }
            }
        }
        if (Files.exists(file) && !resume) {
            throw new IllegalArgumentException("ablation: " + out + " already holds an ablation (" + file + "); add --resume to continue it, or choose another --out");
        }
        if (Files.exists(file)) {
            Map<String, Object> saved = Json.readObject(file);
            if (!(saved.get("ablation") instanceof Map<?, ?> m)) throw new IllegalArgumentException("ablation: " + file + " holds no \"ablation\" object");
            @SuppressWarnings("unchecked")
            AblationConfig before = AblationConfig.fromMap((Map<String, Object>) m);
            List<String> differ = ConfigFields.conflicts(before.toMap(), cfg.toMap(), java.util.Set.of());
            if (!differ.isEmpty()) {
                throw new IllegalArgumentException("ablation: " + out + " was written by another config (" + file + "): " + String.join(", ", differ)
                        + "; nothing was changed. Use another --out, or the same options");
            }
            return;
        }
        Files.createDirectories(out);
        AtomicFiles.writeString(file, json + "\n");
    }

    /** Runs a stage unless it finished before: its command with --resume (a new folder starts fresh), then a "done" marker. */
    private void stage(Path dir, List<String> args) throws IOException {
        if (Files.exists(dir.resolve("done"))) {
            log.println("ablation: " + out.relativize(dir) + " finished before, kept");
            return;
        }
        List<String> full = new ArrayList<>(args);
        full.addAll(List.of("--data", cfg.data(), "--out", dir.toString()));
        full.add(args.get(0).equals("probe") ? "--overwrite" : "--resume");          // a probe has no state to resume: an interrupted one starts again
        log.println("\n== ablation: peco " + String.join(" ", full));
        int rc = peco.apply(full);
        if (rc != 0) throw new IllegalStateException("ablation: the stage " + out.relativize(dir) + " failed (exit " + rc + "); run again with the same options to resume");
        AtomicFiles.writeString(dir.resolve("done"), "");
    }

    /** The tokenizer cells of a new ablation: the MobileNetV2 one only where its weights are installed. */
    public static String availableTokenizers() {
        return Files.exists(dev.peco4j.peco.perceptual.MobileNetV2.NSFWJS_TGZ) ? "tok-none,tok-moco,tok-mobilenetv2" : "tok-none,tok-moco";
    }

    public List<String> tokenizers() {
        return List.of(cfg.tokenizers().split(","));
    }

    public List<String> cells() {
        List<String> c = new ArrayList<>(tokenizers());
        c.addAll(List.of("pixels", "scratch"));
        return c;
    }

    public void run(boolean resume) throws IOException {
        checkFolder(resume);
        Path shared = out.resolve("shared"), perceptual = shared.resolve("perceptual");
        String size = Integer.toString(cfg.imgSize());
        stage(perceptual, List.of("train-perceptual", "--epochs", Integer.toString(cfg.perceptualEpochs()), "--probe-epochs", "0", "--limit-train",
                Integer.toString(cfg.limitTrain()), "--img-size", size, "--patch-size", Integer.toString(cfg.imgSize() / 4)));
        for (String t : tokenizers()) {
            String p = switch (t) {
                case "tok-none" -> "none";
                case "tok-moco" -> "moco:" + perceptual.resolve(RunDir.CHECKPOINT);
                default -> "mobilenetv2";
            };
            stage(shared.resolve(t), List.of("train-tokenizer", "--epochs", Integer.toString(cfg.tokenizerEpochs()), "--perceptual", p, "--limit-train",
                    Integer.toString(cfg.limit(cfg.tokenizerImages())), "--img-size", size));
        }
        for (int seed = 0; seed < cfg.seeds(); seed++) {
            for (String cell : cells()) {
                Path dir = out.resolve("cells").resolve(cell).resolve("seed" + seed);
                String s = Integer.toString(seed), init = "";
                List<String> vit = List.of("--model", cfg.model(), "--img-size", size, "--patch-size", Integer.toString(cfg.patchSize()));
                if (!cell.equals("scratch")) {
                    List<String> pre = new ArrayList<>(List.of("pretrain", "--seed", s, "--steps", Long.toString(cfg.pretrainSteps()),
                            "--warmup-steps", Long.toString(cfg.pretrainSteps() / 10), "--warmup-epochs", "0", "--limit-train", Integer.toString(cfg.limitTrain())));
                    pre.addAll(vit);
                    if (cell.equals("pixels")) pre.addAll(List.of("--target", "pixels"));
                    else pre.addAll(List.of("--tokenizer", shared.resolve(cell).resolve(RunDir.CHECKPOINT).toString()));
                    stage(dir.resolve("pretrain"), pre);
                    init = dir.resolve("pretrain").resolve(RunDir.CHECKPOINT).toString();
                }
                // no pre-training is probed at its init: the ViT the baseline's (tok-none) pre-training of this seed starts from
                String probed = !init.isEmpty() ? init : "random:" + out.resolve("cells").resolve(BASELINE).resolve("seed" + seed).resolve("pretrain").resolve(RunDir.CHECKPOINT);
                stage(dir.resolve("probe"), List.of("probe", "--checkpoint", probed, "--seed", s, "--probe-epochs", Integer.toString(cfg.probeEpochs()),
                        "--limit-train", Integer.toString(cfg.limit(cfg.probeImages()))));
                for (double f : cfg.fractionList()) {
                    List<String> ft = new ArrayList<>(List.of("finetune", "--seed", s, "--steps", Long.toString(cfg.finetuneSteps()), "--warmup-steps",
                            Long.toString(cfg.finetuneSteps() / 5), "--warmup-epochs", "0", "--eval-every", "0", "--label-fraction", Double.toString(f), "--limit-train",
                            Integer.toString(cfg.limitTrain())));
                    ft.addAll(init.isEmpty() ? vit : List.of("--init", init));
                    stage(dir.resolve(finetuneDir(f)), ft);
                }
            }
        }
        Results.write(this, out);
    }

    static String finetuneDir(double fraction) {
        return fraction == 1 ? "finetune" : "finetune-" + percent(fraction) + "pct";
    }

    /** 0.1 → "10", 0.005 → "0.5". */
    static String percent(double fraction) {
        return java.math.BigDecimal.valueOf(fraction * 100).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
    }

    public AblationConfig config() {
        return cfg;
    }

    /** The table: per cell and measure, the values over seeds; written as results.json, results.md and report.html. */
    public static final class Results {
        private Results() {}

        /** Measure name → (cell → values over seeds). */
        static Map<String, Map<String, double[]>> collect(Ablation a, Path out) throws IOException {
            Map<String, Map<String, double[]>> m = new LinkedHashMap<>();
            for (String cell : a.cells()) {
                for (int seed = 0; seed < a.cfg.seeds(); seed++) {
                    Path dir = out.resolve("cells").resolve(cell).resolve("seed" + seed);
                    for (double f : a.cfg.fractionList()) {
                        put(m, "fine-tune " + label(f), cell, seed, a.cfg.seeds(), MetricsLog.number(MetricsLog.lastEval(dir.resolve(finetuneDir(f))), "test_accuracy"));
                    }
                    if (!cell.equals("scratch")) {
                        double mim = MetricsLog.number(MetricsLog.lastEval(dir.resolve("pretrain")), "test_accuracy");            // none for the pixel target
                        if (!Double.isNaN(mim)) put(m, "MIM masked-token accuracy", cell, seed, a.cfg.seeds(), mim);
                    }
                    Map<String, Object> probes = Json.readObject(dir.resolve("probe").resolve("probes.json"));
                    List<?> blocks = (List<?>) probes.get("blocks");
                    Map<?, ?> last = (Map<?, ?>) blocks.getLast();
                    put(m, "linear probe (last block)", cell, seed, a.cfg.seeds(), ((Number) last.get("linear_accuracy")).doubleValue());
                    put(m, "k-NN (last block)", cell, seed, a.cfg.seeds(), ((Number) last.get("knn_accuracy")).doubleValue());
                }
            }
            return m;
        }

        /** The measures comparable across cells (not the MIM row) as grouped bars, mean ± std over seeds. */
        private static void plot(Map<String, Map<String, double[]>> m, List<String> cells, Path png) throws IOException {
            List<String> measures = m.keySet().stream().filter(k -> !k.startsWith("MIM")).toList();
            Map<String, double[]> means = new LinkedHashMap<>(), stds = new LinkedHashMap<>();
            for (String c : cells) {
                double[] mean = new double[measures.size()], std = new double[measures.size()];
                for (int i = 0; i < measures.size(); i++) {
                    double[] v = m.get(measures.get(i)).get(c);
                    Stats.Summary s = v == null ? null : Stats.summary(v);
                    mean[i] = s == null ? Double.NaN : 100 * s.mean();
                    std[i] = s == null ? 0 : 100 * s.std();
                }
                means.put(c, mean);
                stds.put(c, std);
            }
            dev.peco4j.peco.train.Plots.bars(png, "mini-PeCo ablation", "%", measures, means, stds);
        }

        static String label(double f) {
            return f == 1 ? "(all labels)" : "(" + percent(f) + "% of labels)";
        }

        private static void put(Map<String, Map<String, double[]>> m, String measure, String cell, int seed, int seeds, double v) {
            m.computeIfAbsent(measure, k -> new LinkedHashMap<>()).computeIfAbsent(cell, k -> new double[seeds])[seed] = v;
        }

        static void write(Ablation a, Path out) throws IOException {
            Map<String, Map<String, double[]>> m = collect(a, out);
            List<String> cells = a.cells();
            StringBuilder md = new StringBuilder("# mini-PeCo ablation\n\nMean ± std over " + a.cfg.seeds() + " seeds, in %; in brackets Welch's p against "
                    + BASELINE + " (the pixel-trained tokenizer; none on the MIM row, whose targets differ; the tokenizers are shared by the seeds). Config: " + Json.write(a.cfg.toMap()) + "\n\n| measure |");
            for (String c : cells) md.append(" ").append(c).append(" |");
            md.append("\n|---|").append("---|".repeat(cells.size())).append("\n");
            Map<String, Object> json = new LinkedHashMap<>();
            List<List<String>> rows = new ArrayList<>();
            for (var e : m.entrySet()) {
                md.append("| ").append(e.getKey()).append(" |");
                List<String> row = new ArrayList<>(List.of(e.getKey()));
                Map<String, Object> jm = new LinkedHashMap<>();
                double[] base = e.getValue().get(BASELINE);
                for (String c : cells) {
                    double[] v = e.getValue().get(c);
                    String cellText = "–";
                    if (v != null) {
                        Stats.Summary s = Stats.summary(v);
                        // masked-token accuracies of different tokenizers are not comparable (other targets): no test on that row
                        double p = c.equals(BASELINE) || base == null || e.getKey().startsWith("MIM") ? Double.NaN : Stats.welchP(v, base);
                        cellText = s.percent() + (Double.isNaN(p) ? "" : String.format(" (p %.3f)", p));
                        Map<String, Object> cj = new LinkedHashMap<>();
                        cj.put("values", java.util.Arrays.stream(v).boxed().toList());
                        cj.put("mean", s.mean());
                        cj.put("std", s.std());
                        if (!Double.isNaN(p)) cj.put("welch_p_vs_" + BASELINE, p);
                        jm.put(c, cj);
                    }
                    md.append(" ").append(cellText).append(" |");
                    row.add(cellText);
                }
                md.append("\n");
                json.put(e.getKey(), jm);
                rows.add(row);
            }
            AtomicFiles.writeString(out.resolve("results.md"), md.toString());
            plot(m, cells, out.resolve("results.png"));
            Map<String, Object> all = new LinkedHashMap<>();
            all.put("config", a.cfg.toMap());
            all.put("results", json);
            AtomicFiles.writeString(out.resolve("results.json"), Json.write(all) + "\n");
            HtmlReport r = new HtmlReport("mini-PeCo ablation");
            List<String> header = new ArrayList<>(List.of("measure"));
            header.addAll(cells);
            r.paragraph("Mean ± std over " + a.cfg.seeds() + " seeds (%), Welch's p against " + BASELINE + " in brackets (none on the MIM row: "
                    + "other tokenizers are other targets). The tokenizers are trained once and shared by the seeds, so the p-values hold no "
                    + "tokenizer-training variance. Every cell is a folder under " + out.resolve("cells") + ".").table(header, rows)
                    .figure(out.resolve("results.png"), "mean ± std over seeds per measure and cell");
            r.heading("Tokenizers: reconstructions, code maps, codebook usage");
            for (String t : a.tokenizers()) {
                Path recon = out.resolve("shared").resolve(t).resolve("reconstruction.png");
                if (!Files.exists(recon) && a.peco.apply(List.of("reconstruct", "--checkpoint", out.resolve("shared").resolve(t).resolve(RunDir.CHECKPOINT).toString(), "--data", a.cfg.data(),
                            "--out", recon.toString())) != 0) {
                    throw new IllegalStateException("ablation: the reconstruction grid of " + t + " failed; its output is above");
                }
                r.figure(recon, t + ": originals, reconstructions, code maps").figure(out.resolve("shared").resolve(t).resolve(RunDir.CODES), t + ": codebook usage");
            }
            r.heading("Curves (seed 0)");
            for (String c : cells) {
                Path d = out.resolve("cells").resolve(c).resolve("seed0");
                if (!c.equals("scratch")) r.figure(d.resolve("pretrain").resolve(RunDir.PLOT), c + ": MIM pre-training");
                r.figure(d.resolve("finetune").resolve(RunDir.PLOT), c + ": fine-tuning");
            }
            r.write(out.resolve("report.html"));
            a.log.println("\n" + md);
        }
    }
}
