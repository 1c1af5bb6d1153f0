package dev.peco4j.tensor.testing;

import dev.peco4j.tensor.Generator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiPredicate;

/**
 * A seeded mutation fuzzer for the project's file readers: feeds a reader many mutations of one valid
 * input (see {@link Mutator} for the edits) and holds it to its contract. Reading a mutant may only
 * (a) throw a documented exception, typically an IOException or IllegalArgumentException whose
 * message names the input, or (b) return data the target's checker accepts. Anything else is a
 * {@link Failure}: another exception, a message that does not name the input, StackOverflowError,
 * OutOfMemoryError or any other Error, accepted-but-wrong data, or a read slower than
 * {@code peco4j.fuzz.slowMillis} (default 5000; measured, not pre-empted).
 *
 * <pre>{@code
 * var target = new Fuzz.Target<>("idx", (bytes, name) -> Idx.read(bytes, name),
 *         Fuzz.namedExceptions(IOException.class), Fuzz.Checker.equalTo(Idx.read(valid, "valid")));
 * Fuzz.run(target, valid, Fuzz.mutations(300), 1).assertClean();
 * }</pre>
 *
 * Mutation i of a target is a pure function of (seed, target name, i), so a failure replays exactly:
 * its message carries {@code -Dpeco4j.fuzz.replay=<target>:<i>}, which runs only that case, prints
 * what was mutated and throws the failure with its cause. {@code -Dpeco4j.fuzz.mutations=N} sets how
 * many cases tests that use {@link #mutations(int)} run (a nightly run passes 10000, with -Xmx256m);
 * {@code -Dpeco4j.fuzz.seed=S} is mixed into every run's seed to explore other mutations.
 */
public final class Fuzz {
    public static final String MUTATIONS_PROPERTY = "peco4j.fuzz.mutations";
    public static final String REPLAY_PROPERTY = "peco4j.fuzz.replay";
    public static final String SEED_PROPERTY = "peco4j.fuzz.seed";
    public static final String SLOW_PROPERTY = "peco4j.fuzz.slowMillis";
    /** How many cases a run does unless told otherwise: enough for a unit test. */
    public static final int DEFAULT_MUTATIONS = 300;
    /** How many failures a report keeps (all are counted). */
    public static final int KEPT_FAILURES = 20;

    private Fuzz() {}

    /** Reads one input; name is the input's name, which the reader must put in its error messages. */
    @FunctionalInterface
    public interface Reader<T> {
        T read(byte[] input, String name) throws Exception;
    }

    /** Judges a successful read: null when fine, else what is wrong. */
    @FunctionalInterface
    public interface Checker<T> {
        String check(byte[] original, byte[] mutated, T result);

        /** Accepts whatever the reader returns (for formats without a checksum). */
        static <T> Checker<T> anything() {
            return (original, mutated, result) -> null;
        }

        /**
         * Accepts only a result equal to expected (for formats with a checksum); arrays compare by
         * content via {@link Objects#deepEquals}, but a record holding arrays needs its own checker.
         */
        static <T> Checker<T> equalTo(T expected) {
            return (original, mutated, result) -> Objects.deepEquals(expected, result) ? null
                    : "accepted different data: " + abbreviate(String.valueOf(result), 200);
        }
    }

    /**
     * A reader under test: its name (which seeds the mutations and names the replay), how it reads,
     * which exceptions are documented for an input of a given name, and how accepted results are
     * checked. Case i's input is named {@code <name>#<i>} (see {@link #inputName}).
     */
    public record Target<T>(String name, Reader<T> reader, BiPredicate<Throwable, String> documented, Checker<T> accepted) {
        public Target {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(reader, "reader");
            Objects.requireNonNull(documented, "documented");
            Objects.requireNonNull(accepted, "accepted");
        }
    }

    /**
     * One failing case: everything needed to replay it. {@code Fuzz.mutation(target, original, seed,
     * index)} gives its exact bytes; thrown is what the reader (or checker) threw, or null.
     */
    public record Failure(String target, long seed, int index, String mutation, String problem, Throwable thrown) {
        /** The -D flags that replay this case in the same test. */
        public String replayFlags() {
            String base = System.getProperty(SEED_PROPERTY, "").trim();
            return "-D" + REPLAY_PROPERTY + "=" + target + ":" + index + (base.isEmpty() ? "" : " -D" + SEED_PROPERTY + "=" + base);
        }

        @Override
        public String toString() {
            return "fuzz '" + target + "' case " + index + " (seed 0x" + Long.toHexString(seed) + "): " + problem
                    + "\n  mutation: " + mutation
                    + "\n  replay it: mvn test -Dtest=<TestClass> " + replayFlags();
        }
    }

    /** The outcome of a run: accepted + rejected + failed == mutations; at most {@link #KEPT_FAILURES} kept. */
    public record Report(String target, long seed, int mutations, int accepted, int rejected, int failed, List<Failure> failures) {
        public Report {
            failures = List.copyOf(failures);
        }

        public boolean clean() {
            return failed == 0;
        }

        /** Returns this report when no case failed, else throws an AssertionError listing the kept failures. */
        public Report assertClean() {
            if (clean()) return this;
            StringBuilder msg = new StringBuilder(toString());
            for (Failure f : failures) msg.append("\n").append(f);
            if (failed > failures.size()) msg.append("\n... and ").append(failed - failures.size()).append(" more");
            System.err.println(msg);
            throw new AssertionError(msg.toString(), failures.get(0).thrown());
        }

        @Override
        public String toString() {
            return "fuzz '" + target + "' (seed 0x" + Long.toHexString(seed) + "): " + mutations + " mutations, " + accepted
                    + " accepted, " + rejected + " rejected, " + failed + " failed";
        }
    }

    /**
     * The documented-exception rule most readers share: an instance of one of types whose message
     * contains the input's name. {@code namedExceptions(IOException.class, IllegalArgumentException.class)}
     */
    @SafeVarargs
    public static BiPredicate<Throwable, String> namedExceptions(Class<? extends Throwable>... types) {
        List<Class<? extends Throwable>> list = new ArrayList<>();
        for (Class<? extends Throwable> c : types) list.add(c);
        return (t, name) -> list.stream().anyMatch(c -> c.isInstance(t)) && t.getMessage() != null && t.getMessage().contains(name);
    }

    /** The number of mutations to run: {@code -Dpeco4j.fuzz.mutations}, else defaultCount. */
    public static int mutations(int defaultCount) {
        return Integer.getInteger(MUTATIONS_PROPERTY, defaultCount);
    }

    /** The name case index of a target is read under: {@code <target>#<index>}. */
    public static String inputName(String target, int index) {
        return target + "#" + index;
    }

    /** The bytes of mutation index of original, for exactly this seed (as a {@link Failure} reports it). */
    public static byte[] mutation(String target, byte[] original, long seed, int index) {
        return mutant(target, original, seed, index).bytes();
    }

    /** What mutation index does to original, in words: "flip bit 3 of byte 117; truncate to 400 bytes". */
    public static String describe(String target, byte[] original, long seed, int index) {
        return mutant(target, original, seed, index).description();
    }

    /** {@link #DEFAULT_MUTATIONS} (or {@code -Dpeco4j.fuzz.mutations}) cases with seed 0. */
    public static <T> Report run(Target<T> target, byte[] original) {
        return run(target, original, mutations(DEFAULT_MUTATIONS), 0);
    }

    /**
     * Runs n mutations of original through the target and reports; never throws for a failing case
     * (call {@link Report#assertClean()}). Mutation i derives from (seed ^ {@code peco4j.fuzz.seed}, the
     * target's name, i). Under {@code -Dpeco4j.fuzz.replay=<this target>:<i>} only case i runs, and a
     * failure is thrown at once.
     */
    public static <T> Report run(Target<T> target, byte[] original, int n, long seed) {
        long s = seed ^ seedProperty();
        String replay = System.getProperty(REPLAY_PROPERTY, "").trim();
        int colon = replay.lastIndexOf(':');
        if (colon > 0 && replay.substring(0, colon).equals(target.name())) return replay(target, original, s, replayIndex(replay, colon));
        Tally tally = new Tally(target.name(), s);
        for (int i = 0; i < n; i++) tally.add(runCase(target, original, s, i));
        return tally.report();
    }

    // ---- one case ----

    /** What happened to one case: accepted, rejected (documented exception) or failed. */
    private record Outcome(Failure failure, boolean accepted, Throwable rejection) {}

    private static <T> Outcome runCase(Target<T> target, byte[] original, long seed, int index) {
        Mutator.Mutant m = mutant(target.name(), original, seed, index);
        String name = inputName(target.name(), index);
        T result = null;
        Throwable thrown = null;
        long start = System.nanoTime();
        try {
            result = target.reader().read(m.bytes().clone(), name);
        } catch (Throwable t) {
            thrown = t;
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        String problem = null;
        Throwable cause = thrown;
        if (thrown != null) {
            problem = judgeThrown(target, thrown, name);
        } else {
            try {
                String wrong = target.accepted().check(original, m.bytes(), result);
                if (wrong != null) problem = "accepted wrong data: " + wrong;
            } catch (Throwable t) {
                problem = "checker threw " + explain(t);
                cause = t;
            }
        }
        long limit = Long.getLong(SLOW_PROPERTY, 5000);
        if (problem == null && millis > limit) problem = "slow: " + millis + " ms (limit " + limit + " ms)";
        Failure failure = problem == null ? null : new Failure(target.name(), seed, index, m.description(), problem, cause);
        return new Outcome(failure, thrown == null, thrown);
    }

    /** Null when thrown is a documented rejection, else the problem in words. */
    private static String judgeThrown(Target<?> target, Throwable thrown, String name) {
        if (thrown instanceof StackOverflowError) return "stack overflow at " + frames(thrown);
        if (thrown instanceof OutOfMemoryError) return "out of memory: " + thrown.getMessage() + " at " + frames(thrown);
        if (thrown instanceof Error) return "error " + explain(thrown);
        boolean documented;
        try {
            documented = target.documented().test(thrown, name);
        } catch (RuntimeException e) {
            return "documented-predicate threw " + explain(e) + " on " + explain(thrown);
        }
        if (documented) return null;
        return "undocumented exception " + explain(thrown) + (namesWouldDo(target, thrown) ? " (message does not name the input '" + name + "')" : "");
    }

    /** Whether thrown is of a documented kind and only fails for not naming the input. */
    private static boolean namesWouldDo(Target<?> target, Throwable thrown) {
        try {
            return thrown.getMessage() != null && target.documented().test(thrown, thrown.getMessage());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Runs case index alone, printing it; throws the failure (with the reader's exception as cause). */
    private static <T> Report replay(Target<T> target, byte[] original, long seed, int index) {
        Mutator.Mutant m = mutant(target.name(), original, seed, index);
        System.err.println("fuzz '" + target.name() + "': replaying case " + index + " (seed 0x" + Long.toHexString(seed) + ", "
                + m.bytes().length + " bytes): " + m.description());
        Outcome o = runCase(target, original, seed, index);
        if (o.failure() != null) throw new AssertionError(o.failure().toString(), o.failure().thrown());
        System.err.println("fuzz '" + target.name() + "': case " + index + " passes: "
                + (o.accepted() ? "accepted" : "rejected with " + o.rejection()));
        Tally tally = new Tally(target.name(), seed);
        tally.add(o);
        return tally.report();
    }

    /** Counts outcomes and keeps the first failures. */
    private static final class Tally {
        private final String target;
        private final long seed;
        private final List<Failure> kept = new ArrayList<>();
        private int mutations, accepted, rejected, failed;

        Tally(String target, long seed) {
            this.target = target;
            this.seed = seed;
        }

        void add(Outcome o) {
            mutations++;
            if (o.failure() != null) {
                failed++;
                if (kept.size() < KEPT_FAILURES) kept.add(o.failure());
            } else if (o.accepted()) {
                accepted++;
            } else {
                rejected++;
            }
        }

        Report report() {
            return new Report(target, seed, mutations, accepted, rejected, failed, kept);
        }
    }

    // ---- helpers ----

    private static Mutator.Mutant mutant(String target, byte[] original, long seed, int index) {
        return Mutator.mutate(Generator.derive(seed, hash(target), index), original);
    }

    private static int replayIndex(String replay, int colon) {
        try {
            return Integer.parseInt(replay.substring(colon + 1).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + REPLAY_PROPERTY + "=" + replay + ": expected <target>:<index>", e);
        }
    }

    /** {@code -Dpeco4j.fuzz.seed}, decimal or 0x-hex, else 0. */
    private static long seedProperty() {
        String s = System.getProperty(SEED_PROPERTY, "").trim();
        if (s.isEmpty()) return 0;
        try {
            return s.matches("^0[xX].*") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + SEED_PROPERTY + "=" + s + ": expected a decimal or 0x-hex long", e);
        }
    }

    /** "java.io.IOException: message at A.b(A.java:1) < C.d(C.java:2) < ..." (three frames). */
    private static String explain(Throwable t) {
        return t.getClass().getName() + ": " + abbreviate(String.valueOf(t.getMessage()), 300) + " at " + frames(t);
    }

    private static String frames(Throwable t) {
        StackTraceElement[] st = t.getStackTrace();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(3, st.length); i++) sb.append(i == 0 ? "" : " < ").append(st[i]);
        return st.length == 0 ? "(no stack trace)" : sb.toString();
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }

    private static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) h = (h ^ b) * 0x100000001b3L;
        return h;
    }
}
