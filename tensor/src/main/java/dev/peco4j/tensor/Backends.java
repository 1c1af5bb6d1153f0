package dev.peco4j.tensor;

import java.lang.System.Logger.Level;

/**
 * Chooses the backend once, at first use, from the system property {@code peco4j.backend}
 * ({@code auto} = {@code vector}, or {@code scalar} to force the reference everywhere, as llama3.java's
 * switch does), and logs the choice once. A backend that was asked for by name and
 * cannot start is an error, never a silent fallback.
 */
public final class Backends {
    private static final System.Logger LOG = System.getLogger("dev.peco4j.tensor");
    private static volatile Backend current;

    private Backends() {}

    public static Backend current() {
        Backend b = current;
        if (b == null) {
            synchronized (Backends.class) {
                if (current == null) {
                    current = choose(System.getProperty("peco4j.backend", "auto"));
                    LOG.log(Level.INFO, "peco4j backend: " + current.name());
                }
                b = current;
            }
        }
        return b;
    }

    /**
     * Worker threads for kernels that run in parallel: {@code peco4j.threads}, default the number of
     * processors. Kernels partition their output statically, so results do not depend on it.
     */
    public static int threads() {
        String v = System.getProperty("peco4j.threads", "").trim();
        if (v.isEmpty()) return Runtime.getRuntime().availableProcessors();
        try {
            int n = Integer.parseInt(v);
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("peco4j.threads: expected a positive integer, got '" + v + "'");
    }

    /** The preferred float vector species of this CPU, as the Vector API backend will use it. */
    public static String vectorSpecies() {
        var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        return species.vectorBitSize() + "-bit, " + species.length() + " float lanes (" + species + ")";
    }

    static Backend choose(String requested) {
        return switch (requested) {
            case "auto", "vector" -> new VectorBackend(threads());
            case "scalar" -> ScalarBackend.INSTANCE;
            default -> throw new IllegalArgumentException("peco4j.backend: unknown backend '" + requested
                    + "' (expected auto, vector or scalar)");
        };
    }
}
