package dev.peco4j.peco.cli;

import dev.peco4j.tensor.Backends;
import dev.peco4j.tensor.Device;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code peco info}: the JDK, the CPU's vector species, the backend, the thread count and the devices. */
@Command(name = "info", description = "Print the JDK, vector species and width, backend, thread count and the devices --device can name.")
final class InfoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        Runtime rt = Runtime.getRuntime();
        System.out.println("peco4j   0.1.0-SNAPSHOT");
        System.out.println("jdk      " + System.getProperty("java.vm.vendor") + " " + Runtime.version()
                + " (" + System.getProperty("java.home") + ")");
        System.out.println("os       " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch") + ", " + rt.availableProcessors() + " processors, max heap "
                + rt.maxMemory() / (1 << 20) + " MiB");
        System.out.println("vector   " + Backends.vectorSpecies());
        System.out.println("backend  " + Backends.cpuName());
        System.out.println("threads  " + Backends.threads() + " (set with --threads N on the training commands)");
        for (String d : Device.available()) System.out.println("device   " + d);
        return 0;
    }
}
