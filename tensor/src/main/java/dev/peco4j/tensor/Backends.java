package dev.peco4j.tensor;

import java.lang.System.Logger.Level;

/**
 * Chooses the backend once, at first use, from the system property {@code peco4j.backend}
 * ({@code auto}, {@code scalar}), and logs the choice once. A backend that was asked for by name and
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
                    LOG.log(Level.DEBUG, "peco4j backend: " + current.name());
                }
                b = current;
            }
        }
        return b;
    }

    static Backend choose(String requested) {
        return switch (requested) {
            case "auto", "scalar" -> ScalarBackend.INSTANCE;
            default -> throw new IllegalArgumentException("peco4j.backend: unknown backend '" + requested
                    + "' (expected auto or scalar)");
        };
    }
}
