package dev.peco4j.peco.cli;

import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.tensor.Device;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options every training command shares (a picocli mixin): how to treat an existing run folder,
 * the thread count, and what to do with bad images. None of them is part of a run's config.
 */
final class RunOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--resume", description = "Continue the run in --out from last.safetensors (its stored config is used; a larger --epochs "
            + "extends a finished run).")
    boolean resume;

    @Option(names = "--overwrite", description = "Replace the run in --out (its files are removed once the new run has taken its first step).")
    boolean overwrite;

    @Option(names = "--threads", description = "Kernel threads (default: all cores). Results do not depend on it.")
    Integer threads;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "Where to train: cpu, opencl[:N], cuda[:N], or auto (the first CUDA device, else the first OpenCL GPU, else the CPU). Default ${DEFAULT-VALUE}. "
                    + "An op with no kernel on the device runs on the host, with a warning and a count.")
    String deviceName;

    /** The device, once {@link #apply} has opened it. */
    Device device = Device.cpu();

    @Option(names = "--bad-images", defaultValue = "FAIL",
            description = "An image that cannot be decoded: FAIL (stop, naming the file) or SKIP (warn, naming it, and leave it out). Default ${DEFAULT-VALUE}.")
    DataLoader.OnError onBadImage;

    @Option(names = "--max-image-pixels", defaultValue = "89478485",
            description = "Refuse an image whose header claims more pixels (a decompression bomb) before decoding it; it counts as a bad image. "
                    + "Default ${DEFAULT-VALUE} (PIL's limit).")
    long maxImagePixels;

    /** What to do with bad images, as the options say. */
    dev.peco4j.peco.data.BadImages badImages() {
        return new dev.peco4j.peco.data.BadImages(onBadImage, maxImagePixels);
    }


    /** Options that are not part of a run's config. */
    static final Set<String> NOT_CONFIG = Set.of("--out", "--resume", "--overwrite", "--threads", "--bad-images", "--help", "--version", "--verbose",
            "--max-image-pixels", "--device");

    /** Checks the options, applies the thread count and opens the device; returns what to do with the run folder. */
    RunDir.Mode apply() {
        if (resume && overwrite) throw new ParameterException(spec.commandLine(), "--resume and --overwrite exclude each other");
        if (maxImagePixels < 1) throw new ParameterException(spec.commandLine(), "--max-image-pixels must be >= 1, got " + maxImagePixels);
        if (threads != null) {
            if (threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be >= 1, got " + threads);
            Device.configureCpu(threads);
        }
        device = Device.get(deviceName); // a device that cannot start says why in one line (exit 1)
        return resume ? RunDir.Mode.RESUME : overwrite ? RunDir.Mode.OVERWRITE : RunDir.Mode.NEW;
    }

    /** One line naming the ops that ran on the host for want of a device kernel, with their counts (nothing on the host). */
    void reportHostFallbacks(java.io.PrintStream out) {
        var counts = device.hostFallbacks();
        if (!counts.isEmpty()) out.println("device " + device + ": ops without a device kernel ran on the host: " + counts);
    }

    /** A saved config (as a map) with the options given on this command line put over it. */
    Map<String, Object> overSaved(Map<String, Object> saved, Map<String, Object> given) {
        Map<String, Object> merged = new LinkedHashMap<>(saved);
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            String name = o.longestName();
            if (NOT_CONFIG.contains(name)) continue;
            String key = name.replaceFirst("^--(no-)?", "").replace('-', '_');
            if (given.containsKey(key)) merged.put(key, given.get(key));
        }
        return merged;
    }
}
