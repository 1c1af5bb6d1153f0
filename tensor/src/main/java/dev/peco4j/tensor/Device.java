package dev.peco4j.tensor;

import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a tensor's elements live and where the ops on it run: the host ({@link #cpu()}), or a
 * device opened by name ({@code opencl}, {@code opencl:1}, {@code cuda:0}, or {@code auto}).
 *
 * <p>Ops run on the device of their inputs; inputs on two different devices are an error naming
 * both (a rank-0 host tensor, a scalar, may join any device's op, as in PyTorch). Elements move
 * between devices only at explicit points: {@link Tensor#to(Device)}, {@link Tensor#toHost()},
 * {@code item()} and the array getters.
 *
 * <p>The host's settings (its kernels and thread count) are values of this class, set with
 * {@link #configureCpu}; until then they come from the system properties {@code peco4j.backend}
 * and {@code peco4j.threads}, so that benchmarks can set them per JVM.
 */
public final class Device {
    public enum Kind { CPU, OPENCL, CUDA }

    private static final System.Logger LOG = System.getLogger("dev.peco4j.tensor");
    private static final Device CPU = new Device(Kind.CPU, 0, null);
    private static final Map<String, Device> OPEN = new ConcurrentHashMap<>();

    private final Kind kind;
    private final int index;
    private final DeviceRuntime runtime;
    private final Backend backend;

    private Device(Kind kind, int index, DeviceRuntime runtime) {
        this.kind = kind;
        this.index = index;
        this.runtime = runtime;
        this.backend = runtime == null ? null : HostFallback.wrap(this, runtime.kernels());
    }

    /** The host. */
    public static Device cpu() {
        return CPU;
    }

    /**
     * Sets the host's kernels ({@code auto} or {@code vector}: the Vector API backend; {@code scalar}:
     * the double-precision reference everywhere) and its worker threads, and logs the choice once.
     */
    public static Device configureCpu(String backend, int threads) {
        Backends.configureCpu(backend, threads);
        return CPU;
    }

    /** Sets the host's worker threads, keeping its kind of kernels. */
    public static Device configureCpu(int threads) {
        Backends.configureCpu(Backends.cpuKind(), threads);
        return CPU;
    }

    /**
     * The device named by spec: {@code cpu}, {@code opencl[:N]}, {@code cuda[:N]}, or {@code auto}
     * (the first CUDA device, else the first OpenCL GPU, else the host). A device asked for by name that
     * cannot start throws {@link DeviceUnavailableException} with the reason in one line.
     */
    public static Device get(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return CPU;
        if (s.equals("auto")) {
            Device d = autoDevice();
            LOG.log(Level.INFO, "device auto: " + d.description());
            return d;
        }
        int colon = s.indexOf(':');
        String kind = colon < 0 ? s : s.substring(0, colon);
        int index;
        try {
            index = colon < 0 ? 0 : Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            index = -1;
        }
        if (index < 0 || !(kind.equals("opencl") || kind.equals("cuda"))) {
            throw new IllegalArgumentException("device: unknown device '" + spec + "' (expected auto, cpu, opencl[:N] or cuda[:N])");
        }
        return open(kind.equals("opencl") ? Kind.OPENCL : Kind.CUDA, index);
    }

    private static Device open(Kind kind, int index) {
        return OPEN.computeIfAbsent(kind + ":" + index, key -> {
            DeviceRuntime rt = switch (kind) {
                case OPENCL -> OpenClRuntime.open(index);
                case CUDA -> CudaRuntime.open(index);
                case CPU -> throw new AssertionError();
            };
            Device d = new Device(kind, index, rt);
            rt.bind(d);
            LOG.log(Level.INFO, "device " + d.description());
            return d;
        });
    }

    /** The first CUDA device that starts, else the first OpenCL GPU, else the host. */
    private static Device autoDevice() {
        try {
            return open(Kind.CUDA, 0);
        } catch (DeviceUnavailableException e) {
            return OpenClRuntime.firstGpu().map(k -> open(Kind.OPENCL, k)).orElse(CPU);
        }
    }

    /**
     * One line per device: the host, then each OpenCL and each CUDA device with its index (or, for a
     * kind with none, why). Opens no device.
     */
    public static java.util.List<String> available() {
        java.util.List<String> out = new java.util.ArrayList<>();
        out.add("cpu: " + Backends.cpuName());
        try {
            java.util.List<String> cl = OpenClRuntime.names();
            for (int k = 0; k < cl.size(); k++) out.add("opencl:" + k + ": " + cl.get(k));
        } catch (DeviceUnavailableException e) {
            out.add(e.getMessage());
        }
        try {
            java.util.List<String> cuda = CudaRuntime.names();
            for (int k = 0; k < cuda.size(); k++) out.add("cuda:" + k + ": " + cuda.get(k));
        } catch (DeviceUnavailableException e) {
            out.add(e.getMessage());
        }
        return out;
    }

    public Kind kind() {
        return kind;
    }

    public int index() {
        return index;
    }

    public boolean isHost() {
        return kind == Kind.CPU;
    }

    /** One line: what this device is ({@code cpu: vector (512-bit, ...)}, {@code opencl:0: <name> ...}). */
    public String description() {
        return this + ": " + (isHost() ? Backends.cpu().name() : runtime.description());
    }

    /** Waits until every op queued on this device has finished (for timing; copies to the host wait by themselves). */
    public void synchronize() {
        if (!isHost()) runtime.synchronize();
    }

    /** Bytes held by this device's live buffers (0 for the host, whose memory is the JVM heap). */
    public long memoryInUse() {
        return isHost() ? 0 : runtime.bytesInUse();
    }

    /** How many times each op ran on the host because this device has no kernel for it (empty for the host). */
    public Map<String, Long> hostFallbacks() {
        return isHost() ? Map.of() : HostFallback.counts(this);
    }

    Backend backend() {
        return isHost() ? Backends.cpu() : backend;
    }

    DeviceRuntime runtime() {
        if (runtime == null) throw new IllegalStateException("the host has no device runtime");
        return runtime;
    }

    @Override
    public String toString() {
        return isHost() ? "cpu" : kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + index;
    }
}
