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

    public static void lossAndAccuracy(Path png, List<Map<String, Object>> records, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Double> ts = new ArrayList<>(), tl = new ArrayList<>(), es = new ArrayList<>(), el = new ArrayList<>(),
                ta = new ArrayList<>(), ea = new ArrayList<>(), tas = new ArrayList<>();
        for (Map<String, Object> r : records) {
            double step = ((Number) r.get("step")).doubleValue();
            if ("train".equals(r.get("type"))) {
                ts.add(step);
                tl.add(((Number) r.get("loss")).doubleValue());
                tas.add(step);
                ta.add(100 * ((Number) r.get("accuracy")).doubleValue());
            } else if ("eval".equals(r.get("type"))) {
                es.add(step);
                el.add(((Number) r.get("test_loss")).doubleValue());
                ea.add(100 * ((Number) r.get("test_accuracy")).doubleValue());
            }
        }
        XYChart loss = new XYChartBuilder().width(640).height(420).title(title + ": loss").xAxisTitle("step").yAxisTitle("loss").build();
        XYChart acc = new XYChartBuilder().width(640).height(420).title(title + ": accuracy").xAxisTitle("step").yAxisTitle("%").build();
        if (!ts.isEmpty()) loss.addSeries("train", ts, tl).setMarker(SeriesMarkers.NONE);
        if (!es.isEmpty()) loss.addSeries("test", es, el).setMarker(SeriesMarkers.CIRCLE);
        if (!tas.isEmpty()) acc.addSeries("train", tas, ta).setMarker(SeriesMarkers.NONE);
        if (!es.isEmpty()) acc.addSeries("test", es, ea).setMarker(SeriesMarkers.CIRCLE);
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
}
