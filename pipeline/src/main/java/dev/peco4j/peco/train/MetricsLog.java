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
 * "step". On resume, records after the checkpoint's step are dropped (they will be written again),
 * so the file always describes one uninterrupted run.
 */
public final class MetricsLog {
    private final Path file;
    private final List<Map<String, Object>> records = new ArrayList<>();

    @SuppressWarnings("unchecked")
    public MetricsLog(Path file, long keepUpToStep) throws IOException {
        this.file = file;
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                Map<String, Object> r;
                try {
                    r = (Map<String, Object>) Json.parse(line);
                } catch (IllegalArgumentException e) {
                    break; // a line cut short by a crash: everything after it is dropped
                }
                if (((Number) r.get("step")).longValue() <= keepUpToStep) records.add(r);
            }
        }
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> r : records) sb.append(Json.write(r)).append('\n');
        AtomicFiles.writeString(file, sb.toString());
    }

    public synchronized void add(Map<String, Object> record) throws IOException {
        records.add(record);
        Files.writeString(file, Json.write(record) + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    public synchronized List<Map<String, Object>> records() {
        return List.copyOf(records);
    }

    public Path file() {
        return file;
    }
}
