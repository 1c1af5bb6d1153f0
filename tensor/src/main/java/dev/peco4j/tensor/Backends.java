package dev.peco4j.tensor;

import java.lang.System.Logger.Level;

/**
 * Which backend runs an op: the one of its inputs' {@link Device}. The host's backend is set with
 * {@link Device#configureCpu} ({@code auto} = {@code vector}, or {@code scalar} to force the reference
 * everywhere, as llama3.java's switch does), or else from the system properties {@code peco4j.backend}
 * and {@code peco4j.threads} at first use; the choice is logged once. A backend that was asked for by
 * name and cannot start is an error, never a silent fallback.
 */
public final class Backends {
    private static final System.Logger LOG = System.getLogger("dev.peco4j.tensor");
    private static volatile Backend cpu;
    private static volatile int cpuThreads;
    private static volatile String cpuKind;

    private Backends() {}

    /** The host's backend. */
    static Backend cpu() {
        Backend b = cpu;
        if (b == null) {
            synchronized (Backends.class) {
                if (cpu == null) configureCpu(System.getProperty("peco4j.backend", "auto"), threadsProperty());
                b = cpu;
            }
        }
        return b;
    }

    static synchronized void configureCpu(String backend, int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads: expected a positive integer, got " + threads);
        String kind = backend.equals("auto") ? "vector" : backend;
        if (kind.equals(cpuKind) && threads == cpuThreads) return; // same settings: keep the running pool
        Backend b = switch (backend) {
            case "auto", "vector" -> new VectorBackend(threads);
            case "scalar" -> ScalarBackend.INSTANCE;
            default -> throw new IllegalArgumentException("peco4j.backend: unknown backend '" + backend
                    + "' (expected auto, vector or scalar)");
        };
        cpuKind = kind;
        cpuThreads = threads;
        cpu = b;
        LOG.log(Level.INFO, "peco4j backend: " + b.name());
    }

    /** The host's kind of kernels: {@code vector} or {@code scalar}. */
    static String cpuKind() {
        cpu();
        return cpuKind;
    }

    /** The name of the host's backend, with its lanes and threads. */
    public static String cpuName() {
        return cpu().name();
    }

    /** Worker threads of the host's kernels. Kernels partition their output statically, so results do not depend on it. */
    public static int threads() {
        cpu();
        return cpuThreads;
    }

    private static int threadsProperty() {
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

    /** The backend of the device the tensors (nulls skipped) live on; two devices are an error naming op and both. */
    public static Backend on(String op, Tensor... ts) {
        Device dev = null;
        Tensor first = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            Device d = t.device();
            if (d.isHost() && t.dim() == 0) continue; // a host scalar joins any device, as in PyTorch
            if (dev == null) {
                dev = d;
                first = t;
            } else if (d != dev) {
                throw new IllegalArgumentException(op.toLowerCase(java.util.Locale.ROOT) + ": expected all tensors on one device, got " + first.shape() + " on " + dev
                        + " and " + t.shape() + " on " + d + " (move one with .to(device))");
            }
        }
        return dev == null ? cpu() : dev.backend();
    }

    /** The backend of one tensor's device. */
    static Backend on(Tensor t) {
        Storage s = t.storage;
        return s.memory == null ? cpu() : s.memory.device().backend();
    }
}
