package dev.peco4j.peco.train;

import java.io.PrintStream;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Training progress on the console: a progress bar (me.tongfei:progressbar) with loss, accuracy,
 * images/s and ETA when a terminal is attached, plain log lines otherwise (CI, pipes, files).
 */
public interface Progress extends AutoCloseable {
    /** Moves to done steps of total, with a short status (loss, accuracy, images/s). */
    void update(long done, String status);

    /** A message that must not be mangled by the bar (epoch results). */
    void println(String line);

    @Override
    void close();

    static Progress create(String task, long total, long initial, PrintStream out) {
        var console = System.console();
        boolean terminal = console != null && console.isTerminal() && !Boolean.getBoolean("peco4j.plainProgress");
        return terminal ? new Bar(task, total, initial) : new Lines(task, total, initial, out);
    }

    final class Bar implements Progress {
        private final ProgressBar bar;

        Bar(String task, long total, long initial) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).startsFrom(initial, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).showSpeed().build();
        }

        @Override
        public void update(long done, String status) {
            bar.stepTo(done);
            bar.setExtraMessage(" " + status);
        }

        @Override
        public void println(String line) {
            System.out.print("\r\033[2K");
            System.out.println(line);
            bar.refresh();
        }

        @Override
        public void close() {
            bar.close();
        }
    }

    /** One line every 10 s at most (and at the last step), with an ETA from the mean speed. */
    final class Lines implements Progress {
        private final String task;
        private final long total, initial;
        private final PrintStream out;
        private final long start = System.nanoTime();
        private long lastPrint = Long.MIN_VALUE / 2;

        Lines(String task, long total, long initial, PrintStream out) {
            this.task = task;
            this.total = total;
            this.initial = initial;
            this.out = out;
        }

        @Override
        public void update(long done, String status) {
            long now = System.nanoTime();
            if (now - lastPrint < 10_000_000_000L && done < total) return;
            lastPrint = now;
            double secs = (now - start) / 1e9;
            double rate = (done - initial) / Math.max(secs, 1e-9);
            String eta = rate > 0 ? formatSeconds((total - done) / rate) : "?";
            out.printf("%s %d/%d (%.0f%%) %s, eta %s%n", task, done, total, 100.0 * done / total, status, eta);
        }

        @Override
        public void println(String line) {
            out.println(line);
        }

        @Override
        public void close() {}
    }

    static String formatSeconds(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format("%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String.format("%d:%02d", t / 60, t % 60);
    }
}
