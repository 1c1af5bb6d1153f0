package dev.peco4j.peco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9's command-line examples: each error is one line naming the file or option and what was
 * expected (exit 1; usage errors exit 2 with a pointer to --help), no stack trace unless --verbose,
 * and a run folder is never damaged by a run that fails.
 */
class ErrorsTest {
    @TempDir
    static Path dir;
    static Path run;

    static final String[] TINY = {"train-classifier", "--data", "subset", "--limit-train", "64", "--batch-size", "32", "--width", "16",
            "--depth", "1", "--heads", "2", "--epochs", "1", "--seed", "3"};

    record Result(int code, String out, String err) {}

    static Result peco(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            var cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            return new Result(cl.execute(args), out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    /** base with more options added; an option given again replaces its value in base (picocli refuses repeats). */
    static String[] with(String[] base, String... more) {
        List<String> l = new ArrayList<>(List.of(base));
        for (int i = 0; i < more.length; i++) {
            boolean valued = i + 1 < more.length && !more[i + 1].startsWith("--");
            int at = l.indexOf(more[i]);
            if (at >= 0 && valued) l.set(at + 1, more[i + 1]);
            else {
                l.add(more[i]);
                if (valued) l.add(more[i + 1]);
            }
            if (valued) i++;
        }
        return l.toArray(String[]::new);
    }

    /** Every file of a folder with its bytes, to show it did not change. */
    static Map<String, String> snapshot(Path d) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.list(d)) {
            for (Path p : s.toList()) m.put(p.getFileName().toString(), java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
        }
        return m;
    }

    @BeforeAll
    static void aFinishedRun() {
        run = dir.resolve("run");
        Result r = peco(with(TINY, "--out", run.toString()));
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void aNewRunIntoAFolderHoldingARunIsRefusedAndChangesNothing() throws Exception {
        Map<String, String> before = snapshot(run);
        Result r = peco(with(TINY, "--out", run.toString()));
        assertEquals(1, r.code());
        assertEquals("peco: --out " + run + " already holds a run (config.json, metrics.jsonl, timing.jsonl, last.safetensors, plot.png); add "
                + "--resume to continue it or --overwrite to replace it, or choose another --out\n", r.err());
        // --overwrite that fails before its first step (here: loading the data) leaves the old run as it was
        r = peco(with(TINY, "--out", run.toString(), "--overwrite", "--data", dir.resolve("nothing").toString()));
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("peco: --data " + dir.resolve("nothing") + ": no such file or folder"), r.err());
        assertEquals(before, snapshot(run));
    }

    @Test
    void outThatIsAFileIsNamed() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        Result r = peco(with(TINY, "--out", file.toString()));
        assertEquals("peco: --out " + file + ": is a file, expected a folder (or a path that does not exist yet)\n", r.err());
        assertEquals(1, r.code());
    }

    @Test
    void usageErrorsAreShortAndExitTwo() {
        Result r = peco("train-classifier", "--bogus");
        assertEquals(2, r.code());
        assertEquals("peco: Unknown option: '--bogus'\nTry 'peco train-classifier --help' for more information.\n", r.err());
        r = peco("train-classifier", "--epochs", "many");
        assertEquals(2, r.code());
        assertEquals(2, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("peco: Invalid value for option '--epochs': 'many' is not an int"), r.err());
        r = peco("train-classifier", "--resume", "--overwrite");
        assertEquals("peco: --resume and --overwrite exclude each other\nTry 'peco train-classifier --help' for more information.\n", r.err());
    }

    @Test
    void editedCheckpointMetadataNamesFileAndFieldAndVerboseAddsTheTrace() throws Exception {
        Path copy = dir.resolve("edited");
        Files.createDirectories(copy);
        for (String f : List.of("config.json", "metrics.jsonl", "last.safetensors")) Files.copy(run.resolve(f), copy.resolve(f));
        Path ckpt = copy.resolve("last.safetensors");
        SafeTensors.Contents c = SafeTensors.read(ckpt);
        Map<String, String> meta = new LinkedHashMap<>(c.metadata());
        meta.put("step", "abc");
        SafeTensors.write(ckpt, meta, new ArrayList<>(c.entries().values()));
        Result r = peco(with(TINY, "--out", copy.toString(), "--resume"));
        assertEquals(1, r.code());
        assertEquals("peco: checkpoint " + ckpt + ": metadata 'step': expected a non-negative integer, found \"abc\"\n", r.err());
        r = peco(with(TINY, "--out", copy.toString(), "--resume", "--verbose"));
        assertTrue(r.err().lines().count() > 5 && r.err().contains("at dev.peco4j.nn.io.Checkpoint"), r.err());
    }

    @Test
    void resumingWithALargerEpochCountExtendsAFinishedRunAndRemovesLeftovers() throws Exception {
        Path copy = dir.resolve("extend");
        Files.createDirectories(copy);
        for (String f : List.of("config.json", "metrics.jsonl", "last.safetensors")) Files.copy(run.resolve(f), copy.resolve(f));
        Path leftover = Files.writeString(copy.resolve(".last.safetensors.123456.tmp"), "half a checkpoint");
        Result r = peco(with(TINY, "--out", copy.toString(), "--resume", "--epochs", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--resume: 2 epochs instead of 1; the cosine schedule is recomputed for 2 epochs"), r.out());
        assertTrue(r.out().contains("after 4 steps"), r.out());
        assertFalse(Files.exists(leftover), "the temporary file of an interrupted write is removed on resume");
        r = peco(with(TINY, "--out", copy.toString(), "--resume", "--lr", "0.5"));
        assertEquals("peco: --resume: --lr 0.5 (saved: 0.001) differs from the config stored in " + copy.resolve("last.safetensors")
                + "; drop it or use another --out\n", r.err());
    }
}
