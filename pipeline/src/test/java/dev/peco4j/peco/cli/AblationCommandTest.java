package dev.peco4j.peco.cli;

import static dev.peco4j.peco.cli.ErrorsTest.peco;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny ablation end to end: its table, a re-run that keeps every finished stage, and a folder of another config refused untouched. */
class AblationCommandTest {
    @TempDir
    Path dir;

    static String[] tiny(Path out, String seeds) {
        return new String[] {"ablation", "--data", "subset", "--out", out.toString(), "--seeds", seeds, "--perceptual-epochs", "1", "--tokenizer-epochs", "1",
                "--pretrain-steps", "2", "--finetune-steps", "2", "--probe-epochs", "1", "--fractions", "1", "--limit-train", "256"};
    }

    @Test
    void writesTheTableKeepsFinishedStagesAndRefusesAnotherConfig() throws Exception {
        Path out = dir.resolve("abl");
        ErrorsTest.Result r = peco(tiny(out, "2"));
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| fine-tune (all labels) | ") && md.contains("| MIM masked-token accuracy |") && md.contains("(p "), md);
        assertTrue(md.contains("tok-none") && md.contains("tok-moco") && md.contains("pixels") && md.contains("scratch"), md);
        assertTrue(Files.exists(out.resolve("results.json")) && Files.exists(out.resolve("report.html")) && Files.exists(out.resolve("results.png")));
        String probeRow = md.lines().filter(l -> l.startsWith("| linear probe")).findFirst().orElseThrow();
        assertTrue(!probeRow.endsWith("– |"), "no pre-training (the last column) is probed too: " + probeRow);
        assertTrue(Files.readString(out.resolve("report.html")).contains("per measure and cell</figcaption>"), "the bar chart is in the report");

        r = peco(tiny(out, "2"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("already holds an ablation") && r.err().contains("add --resume"), r.err());
        r = peco(ErrorsTest.with(tiny(out, "2"), "--resume"));
        assertEquals(0, r.code(), r.err());
        assertTrue(!r.out().contains("== ablation: peco"), "every stage kept on a re-run:\n" + r.out());
        assertEquals(md, Files.readString(out.resolve("results.md")), "the same table");

        String before = Files.readString(out.resolve("ablation.json"));
        r = peco(ErrorsTest.with(tiny(out, "3"), "--resume"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("was written by another config (" + out.resolve("ablation.json") + "): --seeds 3 (saved: 2)"), r.err());
        assertEquals(before, Files.readString(out.resolve("ablation.json")), "nothing overwritten");

        Path other = Files.createDirectories(dir.resolve("mine"));
        Files.writeString(other.resolve("notes.txt"), "mine");
        r = peco(tiny(other, "2"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains(other + " is not empty and holds no ablation.json"), r.err());
        assertEquals("mine", Files.readString(other.resolve("notes.txt")));
    }
}
