package dev.peco4j.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH cases for the fast kernels: sgemm at n = 256…2048, conv3x3 forward+backward at 8×128×32×32,
 * attention forward+backward at ViT-B shapes, layer norm, and one BEiT ViT-B block forward+backward,
 * each on 1 and 2 threads (one fork per thread count: the backend reads peco4j.threads once).
 *
 * <pre>
 * mvn -q -DskipTests package -pl bench -am
 * java --add-modules jdk.incubator.vector -cp "bench/target/classes:bench/target/lib/*" org.openjdk.jmh.Main KernelBenchmarks
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class KernelBenchmarks {
    @State(Scope.Benchmark)
    public static class Threads {
        @Param({"1", "2"})
        public int threads;

        @Setup(Level.Trial)
        public void select() {
            dev.peco4j.tensor.Device.configureCpu(threads);
        }
    }

    @State(Scope.Benchmark)
    public static class Sgemm {
        @Param({"256", "512", "1024", "2048"})
        public int n;
        Workloads.Workload w;

        @Setup(Level.Trial)
        public void setup(Threads t) {
            w = Workloads.sgemm(n);
        }
    }

    @State(Scope.Benchmark)
    public static class Layers {
        Workloads.Workload conv, attention, layerNorm, linearGelu, crossEntropy, block;

        @Setup(Level.Trial)
        public void setup(Threads t) {
            conv = Workloads.conv3x3(8, 128, 32);
            attention = Workloads.attention(8, 12, 197, 64);
            layerNorm = Workloads.layerNorm(8, 197, 768);
            linearGelu = Workloads.linearGelu(8 * 197, 768, 3072);
            crossEntropy = Workloads.crossEntropy(8 * 75, 8192);
            block = Workloads.beitBlock(8, 197, 768, 12);
        }
    }

    @Benchmark
    public void sgemm(Sgemm s) {
        s.w.run();
    }

    @Benchmark
    public void conv3x3ForwardBackward(Layers l) {
        l.conv.run();
    }

    @Benchmark
    public void attentionForwardBackward(Layers l) {
        l.attention.run();
    }

    @Benchmark
    public void layerNormForwardBackward(Layers l) {
        l.layerNorm.run();
    }

    @Benchmark
    public void linearGeluForwardBackward(Layers l) {
        l.linearGelu.run();
    }

    @Benchmark
    public void crossEntropyForwardBackward(Layers l) {
        l.crossEntropy.run();
    }

    @Benchmark
    public void beitBlockForwardBackward(Layers l) {
        l.block.run();
    }
}
