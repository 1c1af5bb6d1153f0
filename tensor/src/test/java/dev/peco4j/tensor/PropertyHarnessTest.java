package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.tensor.testing.Property;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The harness reports the failing seed, and that seed replays the same case. */
class PropertyHarnessTest {
    @Test
    void failureNamesTheSeedAndReplayReproducesTheCase() {
        List<Integer> seen = new ArrayList<>();
        AssertionError e = assertThrows(AssertionError.class, () -> Property.check("fails on big values", 200, g -> {
            int v = g.intIn(0, 1000);
            seen.add(v);
            if (v > 900) throw new IllegalStateException("value " + v);
        }));
        Matcher m = Pattern.compile("seed (0x[0-9a-f]+)").matcher(e.getMessage());
        assertTrue(m.find(), e.getMessage());
        assertTrue(e.getMessage().contains("-Dpeco4j.seed=" + m.group(1)), e.getMessage());
        int failing = seen.get(seen.size() - 1);

        String previous = System.getProperty(Property.SEED_PROPERTY);
        System.setProperty(Property.SEED_PROPERTY, m.group(1));
        try {
            int[] replayed = new int[1];
            assertEquals(1, Property.check("replay", 50, g -> replayed[0] = g.intIn(0, 1000)));
            assertEquals(failing, replayed[0]);
        } finally {
            if (previous == null) System.clearProperty(Property.SEED_PROPERTY);
            else System.setProperty(Property.SEED_PROPERTY, previous);
        }
    }

    @Test
    void casesAreReproducibleAcrossRuns() {
        List<Integer> a = new ArrayList<>(), b = new ArrayList<>();
        Property.check("stable", 20, g -> a.add(g.intIn(0, 1 << 20)));
        Property.check("stable", 20, g -> b.add(g.intIn(0, 1 << 20)));
        assertEquals(a, b);
    }
}
