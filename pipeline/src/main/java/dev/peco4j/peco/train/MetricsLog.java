package dev.peco4j.peco.train;

import dev.peco4j.nn.io.AtomicFiles;
import dev.peco4j.nn.io.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The metrics of a run as JSON lines, one record per line with a "type" ("train" or "eval") and a
 * "step". Records hold only values that follow from the seed and the config (no wall-clock times),
 * so a resumed run's file is byte-identical to an uninterrupted run's.
 *
 * <p>On resume the records up to the checkpoint's step are kept and the rest dropped (they will be
 * written again). The file is not touched until the first {@link #add}: it is then rewritten
 * atomically with the kept records, and appended to after that.
 */
public final class MetricsLog {
    private final Path file;
    private final List<Map<String, Object>> records = new ArrayList<>();
    private boolean rewritten;

    /** Keeps the existing records with step &lt;= keepUpToStep (none when it is negative). */
    public MetricsLog(Path file, long keepUpToStep) throws IOException {
        this.file = file;
        if (keepUpToStep >= 0 && Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).isBlank()) continue;
                Map<String, Object> r;
                try {
                    r = Json.parseObject(lines.get(i), file + " line " + (i + 1));
                } catch (IllegalArgumentException e) {
                    break; // a line cut short by a crash: everything after it is dropped
                }
                if (r.get("step") instanceof Long step && step <= keepUpToStep) records.add(r);
            }
        }
    }

    public synchronized void add(Map<String, Object> record) throws IOException {
        String line = Json.write(record) + "\n";
        if (!rewritten) {
            StringBuilder sb = new StringBuilder();
            for (Map<String, Object> r : records) sb.append(Json.write(r)).append('\n');
            AtomicFiles.writeString(file, sb.append(line).toString());
            rewritten = true;
        } else {
            try {
                Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw AtomicFiles.named(file, e);
            }
        }
        records.add(record);
    }

    public synchronized List<Map<String, Object>> records() {
        return List.copyOf(records);
    }

    public Path file() {
        return file;
    }

    /** The last "eval" record of a run folder's metrics.jsonl (empty when it has none); errors name the file. */
    public static Map<String, Object> lastEval(Path runDir) throws IOException {
        Path file = runDir.resolve(RunDir.METRICS);
        Map<String, Object> last = Map.of();
        for (String line : java.nio.file.Files.readAllLines(file)) {
            Map<String, Object> r = dev.peco4j.nn.io.Json.parseObject(line, file.toString());
            if ("eval".equals(r.get("type"))) last = r;
        }
        return last;
    }

    /** A record's number under key, NaN when absent. */
    public static double number(Map<String, Object> record, String key) {
        return record.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
