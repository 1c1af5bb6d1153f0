package dev.peco4j.peco.probe;

import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.perceptual.Probes;
import dev.peco4j.peco.train.Plots;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Probes of a frozen ViT after every block, BEiT's linear-probe features: the mean of the patch tokens
 * (no final norm), standardized (BatchNorm without affine, with the training set's statistics), then a
 * linear classifier ({@link Probes#linearProbe}: AdamW, cosine to 0, lr chosen on a held-out tenth of
 * the training set); beside it a k-NN probe (k = 20, cosine, temperature 0.07). Writes probes.json,
 * probes.md (one row per block) and probes.png (accuracy per block).
 */
public final class BlockProbes {
    private BlockProbes() {}

    /** One block's accuracies (block 1 is the first). */
    public record Row(int block, double knn, double linear, double linearLr) {}

    /** Features (B, depth·D): the mean patch token after each block, side by side. */
    static Tensor perBlock(VisionTransformer vit, Tensor x) {
        int depth = vit.config.depth();
        int[] all = new int[depth];
        for (int i = 0; i < depth; i++) all[i] = i;
        List<Tensor> taps = vit.forwardIntermediates(x, all, false, false);
        List<Tensor> pooled = new ArrayList<>();
        for (Tensor t : taps) pooled.add(t.mean(1));
        return Tensor.cat(pooled, 1);
    }

    public static List<Row> run(VisionTransformer vit, DataLoader train, DataLoader test, int classes, int epochs, long seed, PrintStream log) {
        vit.eval();
        Probes.Features a = Probes.embed(train, x -> perBlock(vit, x)), b = Probes.embed(test, x -> perBlock(vit, x));
        int d = vit.config.embedDim();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < vit.config.depth(); i++) {
            Probes.Features fa = new Probes.Features(a.x().narrow(1, i * d, d).contiguous(), a.labels());
            Probes.Features fb = new Probes.Features(b.x().narrow(1, i * d, d).contiguous(), b.labels());
            double knn = Probes.knn(fa, fb, 20, 0.07, classes);
            Probes.LinearProbe lin = Probes.linearProbe(fa, fb, classes, epochs, seed);
            rows.add(new Row(i + 1, knn, lin.accuracy(), lin.lr()));
            log.printf("  block %2d: k-NN %.2f%%  linear %.2f%% (lr %.0e)%n", i + 1, 100 * knn, 100 * lin.accuracy(), lin.lr());
        }
        return rows;
    }

    /** probes.json, probes.md and probes.png in dir. */
    public static void write(Path dir, String what, List<Row> rows) throws IOException {
        Files.createDirectories(dir);
        StringBuilder md = new StringBuilder("# Probes of " + what + "\n\n| block | k-NN | linear (lr) |\n|---|---|---|\n");
        List<Object> json = new ArrayList<>();
        double[] x = new double[rows.size()], knn = new double[rows.size()], lin = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            md.append(String.format("| %d | %.2f%% | %.2f%% (%.0e) |%n", r.block(), 100 * r.knn(), 100 * r.linear(), r.linearLr()));
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("block", r.block());
            o.put("knn_accuracy", r.knn());
            o.put("linear_accuracy", r.linear());
            o.put("linear_lr", r.linearLr());
            json.add(o);
            x[i] = r.block();
            knn[i] = 100 * r.knn();
            lin[i] = 100 * r.linear();
        }
        AtomicFiles.writeString(dir.resolve("probes.md"), md.toString());
        AtomicFiles.writeString(dir.resolve("probes.json"), Json.write(Map.of("checkpoint", what, "blocks", json)) + "\n");
        Map<String, double[]> curves = new LinkedHashMap<>();
        curves.put("linear", lin);
        curves.put("k-NN", knn);
        Path f = Path.of(what.replaceFirst("^random:", ""));
        String name = (what.startsWith("random:") ? "random " : "") + (f.getParent() == null ? "" : f.getParent().getFileName() + "/") + f.getFileName();
        Plots.lines(dir.resolve("probes.png"), "probes of " + name, "block", "test accuracy %", x, curves);
    }
}
