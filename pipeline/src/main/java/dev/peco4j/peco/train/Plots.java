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

    /**
     * Two charts from metrics records: the train "loss" and eval "test_loss", and the train
     * "accuracy" and every eval value named "...accuracy" (test, k-NN, ...); absent keys are skipped.
     */
    public static void lossAndAccuracy(Path png, List<Map<String, Object>> records, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart loss = new XYChartBuilder().width(640).height(420).title(title + ": loss").xAxisTitle("step").yAxisTitle("loss").build();
        XYChart acc = new XYChartBuilder().width(640).height(420).title(title + ": accuracy").xAxisTitle("step").yAxisTitle("%").build();
        series(loss, records, "train", "loss", "train", 1, SeriesMarkers.NONE);
        series(loss, records, "eval", "test_loss", "test", 1, SeriesMarkers.CIRCLE);
        series(acc, records, "train", "accuracy", "train", 100, SeriesMarkers.NONE);
        java.util.Set<String> evalAccuracies = new java.util.TreeSet<>();
        for (Map<String, Object> r : records) {
            if ("eval".equals(r.get("type"))) for (String k : r.keySet()) if (k.endsWith("accuracy")) evalAccuracies.add(k);
        }
        for (String k : evalAccuracies) series(acc, records, "eval", k, k.equals("test_accuracy") ? "test" : k.replace("knn", "k-NN").replace('_', ' '), 100, SeriesMarkers.CIRCLE);
        BufferedImage a = BitmapEncoder.getBufferedImage(loss), b = BitmapEncoder.getBufferedImage(acc);
        BufferedImage both = new BufferedImage(a.getWidth() + b.getWidth(), Math.max(a.getHeight(), b.getHeight()), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = both.createGraphics();
        g.drawImage(a, 0, 0, null);
        g.drawImage(b, a.getWidth(), 0, null);
        g.dispose();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(both, "png", bytes);
        AtomicFiles.write(png, bytes.toByteArray());
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
