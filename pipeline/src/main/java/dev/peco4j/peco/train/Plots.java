package dev.peco4j.peco.train;

import dev.peco4j.nn.io.AtomicFiles;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The loss and accuracy curves of a run as one PNG (XChart, headless), written atomically. */
public final class Plots {
    private Plots() {}

    /** One curve: the records of a type ("train", "eval"), the value under key, its legend name, and a scale (100 for percent). */
    public record Series(String type, String key, String name, double scale) {}

    /**
     * Two charts from metrics records: the train "loss" and eval "test_loss", and the train
     * "accuracy" and every eval value named "...accuracy" (test, k-NN, ...); absent keys are skipped.
     */
    public static void lossAndAccuracy(Path png, List<Map<String, Object>> records, String title) throws IOException {
        List<Series> right = new ArrayList<>(List.of(new Series("train", "accuracy", "train", 100)));
        java.util.Set<String> evalAccuracies = new java.util.TreeSet<>();
        for (Map<String, Object> r : records) {
            if ("eval".equals(r.get("type"))) for (String k : r.keySet()) if (k.endsWith("accuracy")) evalAccuracies.add(k);
        }
        for (String k : evalAccuracies) right.add(new Series("eval", k, k.equals("test_accuracy") ? "test" : k.replace("knn", "k-NN").replace('_', ' '), 100));
        charts(png, records, title, "loss", List.of(new Series("train", "loss", "train", 1), new Series("eval", "test_loss", "test", 1)), "%", right);
    }

    /** Two charts side by side, each with its curves over steps (train records as lines, eval records with markers). */
    public static void charts(Path png, List<Map<String, Object>> records, String title, String leftY, List<Series> left, String rightY,
                              List<Series> right) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart a = chart(records, title + ": " + leftY, leftY, left), b = chart(records, title + ": " + rightY, rightY, right);
        BufferedImage ia = BitmapEncoder.getBufferedImage(a), ib = BitmapEncoder.getBufferedImage(b);
        BufferedImage both = new BufferedImage(ia.getWidth() + ib.getWidth(), Math.max(ia.getHeight(), ib.getHeight()), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = both.createGraphics();
        g.drawImage(ia, 0, 0, null);
        g.drawImage(ib, ia.getWidth(), 0, null);
        g.dispose();
        write(png, both);
    }

    /**
     * A codebook's usage: each code's share of all positions, codes sorted from the most to the least
     * used (a flat line is an evenly used codebook; a drop to zero marks the dead codes).
     */
    public static void codeUsage(Path png, long[] counts, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        long[] sorted = counts.clone();
        java.util.Arrays.sort(sorted);
        long total = 0;
        for (long c : sorted) total += c;
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (int i = 0; i < sorted.length; i++) {
            x.add((double) i);
            y.add(total == 0 ? 0 : 100.0 * sorted[sorted.length - 1 - i] / total);
        }
        XYChart c = new XYChartBuilder().width(640).height(420).title(title).xAxisTitle("code rank").yAxisTitle("% of positions").build();
        c.addSeries("usage", x, y).setMarker(SeriesMarkers.NONE);
        c.getStyler().setLegendVisible(false);
        write(png, BitmapEncoder.getBufferedImage(c));
    }

    /** One chart of curves over the same x values (e.g. accuracy per block), each point marked. */
    public static void lines(Path png, String title, String xTitle, String yTitle, double[] x, Map<String, double[]> curves) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart c = new XYChartBuilder().width(640).height(420).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        curves.forEach((name, y) -> c.addSeries(name, x, y).setMarker(SeriesMarkers.CIRCLE));
        write(png, BitmapEncoder.getBufferedImage(c));
    }

    /**
     * Grouped bars with error bars: per category (e.g. a measure) one bar per series (e.g. a cell) of
     * its mean, the bar ± its std; a NaN mean (a series without that category) draws no bar (height 0).
     */
    public static void bars(Path png, String title, String yTitle, List<String> categories, Map<String, double[]> means, Map<String, double[]> stds)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        org.knowm.xchart.CategoryChart c = new org.knowm.xchart.CategoryChartBuilder().width(1100).height(520).title(title).yAxisTitle(yTitle).build();
        c.getStyler().setYAxisDecimalPattern("#0.#");
        c.getStyler().setXAxisLabelRotation(12);                                    // long category names do not overlap
        means.forEach((name, m) -> {
            List<Double> y = new ArrayList<>(), e = new ArrayList<>();
            for (int i = 0; i < m.length; i++) {
                y.add(Double.isNaN(m[i]) ? 0 : m[i]);
                e.add(Double.isNaN(m[i]) ? 0 : stds.get(name)[i]);
            }
            c.addSeries(name, categories, y, e);
        });
        write(png, BitmapEncoder.getBufferedImage(c));
    }

    private static void write(Path png, BufferedImage image) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        AtomicFiles.write(png, bytes.toByteArray());
    }

    private static XYChart chart(List<Map<String, Object>> records, String title, String yTitle, List<Series> curves) {
        XYChart c = new XYChartBuilder().width(640).height(420).title(title).xAxisTitle("step").yAxisTitle(yTitle).build();
        for (Series s : curves) series(c, records, s.type(), s.key(), s.name(), s.scale(), s.type().equals("train") ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        return c;
    }

    private static void series(XYChart chart, List<Map<String, Object>> records, String type, String key, String name, double scale,
                               org.knowm.xchart.style.markers.Marker marker) {
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (Map<String, Object> r : records) {
            if (type.equals(r.get("type")) && r.get(key) instanceof Number v) {
                x.add(((Number) r.get("step")).doubleValue());
                y.add(scale * v.doubleValue());
            }
        }
        if (!x.isEmpty()) chart.addSeries(name, x, y).setMarker(marker);
    }
}
