package dev.peco4j.tensor.testing;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A seeded property harness on plain JUnit: runs a body over many random cases, each from its own
 * seed. On failure it throws an AssertionError naming the property, the case and its seed, with the
 * command line that replays exactly that case: {@code -Dpeco4j.seed=0x…}.
 *
 * <pre>{@code
 * Property.check("add commutes", 100, gen -> {
 *     int[] s = gen.shape(0, 3, 4);
 *     Tensor a = gen.values(s, -1, 1), b = gen.values(s, -1, 1);
 *     assertArrayEquals(a.add(b).toDoubleArray(), b.add(a).toDoubleArray());
 * });
 * }</pre>
 *
 * Case seeds are derived from the property's name and the case number, so runs are reproducible;
 * set {@code peco4j.seed} to replay one case, or {@code peco4j.baseSeed} to explore other cases.
 */
public final class Property {
    public static final String SEED_PROPERTY = "peco4j.seed";
    public static final String BASE_SEED_PROPERTY = "peco4j.baseSeed";

    private static final Map<String, Integer> CASES_RUN = new ConcurrentHashMap<>();

    private Property() {}

    /** Runs body over {@code cases} random cases (or the one replayed case); returns how many ran. */
    public static int check(String name, int cases, Consumer<Gen> body) {
        String replay = System.getProperty(SEED_PROPERTY, "").trim();
        if (!replay.isEmpty()) {
            long seed = Long.parseUnsignedLong(replay.replaceFirst("^0[xX]", ""), replay.matches("^0[xX].*") ? 16 : 10);
            System.err.println("property '" + name + "': replaying seed 0x" + Long.toHexString(seed));
            runCase(name, 0, 1, seed, body);
            CASES_RUN.merge(name, 1, Integer::sum);
            return 1;
        }
        long base = mix(hash(name) ^ Long.getLong(BASE_SEED_PROPERTY, 0L));
        for (int i = 0; i < cases; i++) runCase(name, i, cases, mix(base + i), body);
        CASES_RUN.merge(name, cases, Integer::sum);
        return cases;
    }

    /** How many cases each property has run in this JVM (for coverage reports). */
    public static Map<String, Integer> casesRun() {
        return Map.copyOf(CASES_RUN);
    }

    private static void runCase(String name, int i, int cases, long seed, Consumer<Gen> body) {
        Gen gen = new Gen(seed);
        try {
            body.accept(gen);
        } catch (RuntimeException | AssertionError e) {
            String msg = "property '" + name + "' failed on case " + (i + 1) + " of " + cases + " with seed 0x"
                    + Long.toHexString(seed) + "\n  replay it: mvn test -Dtest=<TestClass> -D" + SEED_PROPERTY + "=0x"
                    + Long.toHexString(seed) + "\n  inputs: " + gen.log() + "\n  cause: " + e;
            System.err.println(msg);
            throw new AssertionError(msg, e);
        }
    }

    private static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) h = (h ^ b) * 0x100000001b3L;
        return h;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }
}
