package dev.peco4j.bench;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A long training run on one device that watches memory: a small ViT classifier (the classifier's
 * shape at 32 px) takes AdamW steps on fixed random batches, and every `every` steps it prints the
 * device's live buffer bytes, the JVM heap in use, the collections so far and the process's resident
 * set. Nothing forces a collection: device buffers are freed when the collector finds their tensors
 * unreachable, and the point is to see that this keeps up. None of the figures may grow once the
 * run is warm.
 *
 * <pre>
 *   java ... dev.peco4j.bench.DeviceSoak opencl 1000 100
 * </pre>
 */
public final class DeviceSoak {
    private DeviceSoak() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 3) throw new IllegalArgumentException("usage: DeviceSoak <device> <steps> <report every>");
        Device dev = Device.get(args[0]);
        int steps = Integer.parseInt(args[1]), every = Integer.parseInt(args[2]);
        VisionTransformer.Config c = VisionTransformer.Config.of(32, 4, 64, 2, 2).withInChans(1).withNumClasses(10)
                .withPool(VisionTransformer.Pool.AVG);
        VisionTransformer model = new VisionTransformer(new Generator(1), c);
        model.to(dev);
        AdamW opt = new AdamW(List.of(new ParamGroup("all", model.parameters(), 1e-3, 0.05)), AdamW.Config.DEFAULT);
        Tensor[] images = new Tensor[4], labels = new Tensor[4];
        for (int b = 0; b < images.length; b++) {
            images[b] = Tensor.randn(new Generator(10 + b), 16, 1, 32, 32);
            labels[b] = Tensor.randint(new Generator(20 + b), 0, 10, 16);
        }
        System.out.printf("device %s, %d steps of 16 images, ViT width 64 depth 2%n", dev.description(), steps);
        System.out.println("step  loss     device_MiB  heap_MiB  GCs  rss_MiB  s/step");
        long t0 = System.nanoTime();
        for (int s = 1; s <= steps; s++) {
            Tensor loss = Functional.crossEntropy(model.forward(images[s % 4].to(dev)), labels[s % 4].to(dev), 0.1);
            double l = loss.item();
            loss.backward();
            opt.step();
            opt.zeroGrad();
            if (s % every == 0 || s == 1) {
                Runtime rt = Runtime.getRuntime();
                long gcs = 0;
                for (var b : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) gcs += Math.max(0, b.getCollectionCount());
                System.out.printf("%5d %8.4f %11.1f %9.1f %4d %8.1f %7.3f%n", s, l, dev.memoryInUse() / 1048576.0,
                        (rt.totalMemory() - rt.freeMemory()) / 1048576.0, gcs, rssMiB(), (System.nanoTime() - t0) / 1e9 / s);
            }
        }
        System.out.println("host fallbacks: " + dev.hostFallbacks());
    }

    private static double rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        }
        return Double.NaN;
    }
}
