package dev.peco4j.peco.train;

import dev.peco4j.nn.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A run's output folder ({@code --out}) and the rules that keep earlier results safe:
 * <ul>
 *   <li>a folder that already holds a run is continued ({@link Mode#RESUME}) or replaced
 *       ({@link Mode#OVERWRITE}) only when asked; a new run refuses it, naming the files found;</li>
 *   <li>nothing is written before the run has started ({@link #start}, called after its first
 *       step): a run that fails while loading data or building its model leaves the folder as it
 *       was; an overwritten run's files are removed only then;</li>
 *   <li>temporary files left behind by a kill during an atomic write are removed on resume.</li>
 * </ul>
 *
 * <pre>{@code
 * RunDir run = RunDir.open(Path.of("runs/x"), RunDir.Mode.NEW); // refuses a folder holding a run
 * ... first step done ...
 * run.start(configJson);                                       // writes config.json
 * }</pre>
 */
public final class RunDir {
    /** What to do with a folder that may hold an earlier run. */
    public enum Mode { NEW, RESUME, OVERWRITE }

    public static final String CONFIG = "config.json", METRICS = "metrics.jsonl", TIMING = "timing.jsonl", CHECKPOINT = "last.safetensors",
            PLOT = "plot.png", PROBES = "probes.json", CODES = "codes.png", BEST = "best.safetensors";
    /** Every file a run writes. */
    public static final List<String> FILES = List.of(CONFIG, METRICS, TIMING, CHECKPOINT, PLOT, PROBES, CODES, BEST);

    private final Path dir;
    private final Mode mode;
    private boolean started;

    private RunDir(Path dir, Mode mode) {
        this.dir = dir;
        this.mode = mode;
    }

    /** Checks the folder for the mode; on resume removes leftover temporary files. Writes nothing else. */
    public static RunDir open(Path dir, Mode mode) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--out " + dir + ": is a file, expected a folder (or a path that does not exist yet)");
        }
        List<String> found = new ArrayList<>();
        for (String f : FILES) if (Files.exists(dir.resolve(f))) found.add(f);
        if (mode == Mode.NEW && !found.isEmpty()) {
            throw new IllegalArgumentException("--out " + dir + " already holds a run (" + String.join(", ", found)
                    + "); add --resume to continue it or --overwrite to replace it, or choose another --out");
        }
        if (mode == Mode.RESUME) AtomicFiles.removeLeftovers(dir);
        return new RunDir(dir, mode);
    }

    public Path dir() {
        return dir;
    }

    public Mode mode() {
        return mode;
    }

    public Path file(String name) {
        return dir.resolve(name);
    }

    /**
     * The run has taken its first step: create the folder, remove an overwritten run's files and any
     * leftover temporary files, and write config.json. Idempotent.
     */
    public void start(String configJson) throws IOException {
        if (started) return;
        started = true;
        Files.createDirectories(dir);
        if (mode == Mode.OVERWRITE) for (String f : FILES) Files.deleteIfExists(dir.resolve(f));
        AtomicFiles.removeLeftovers(dir);
        AtomicFiles.writeString(dir.resolve(CONFIG), configJson + "\n");
    }
}
