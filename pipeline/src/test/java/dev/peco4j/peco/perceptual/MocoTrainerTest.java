package dev.peco4j.peco.perceptual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.io.Json;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.train.RunDir;
import dev.peco4j.peco.train.TrainLoop;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MocoTrainerTest {
    @TempDir
    Path dir;

    @Test
    void aTinyRunWritesItsFilesAndItsEncoderLoadsAsAFeatureNet() throws Exception {
        PerceptualConfig cfg = new PerceptualConfig("subset", 4, 1, 32, 1.5e-4, 0.5, 0.1, 28, 7, 16, 1, 2, 2.0, 16, 32, 0.2, 0.99, true, 0.2, 0, 128, 128, 2);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TrainLoop.Result r = new MocoTrainer(cfg, dir, new PrintStream(log, true)).run(RunDir.Mode.NEW);
        assertEquals(4, r.steps());
        String out = log.toString();
        assertTrue(out.contains("epoch 1/1: k-NN accuracy") && out.contains("  pixels       k-NN"), out);
        for (String f : List.of("config.json", "metrics.jsonl", "last.safetensors", "plot.png", "probes.json")) assertTrue(Files.size(dir.resolve(f)) > 0, f);
        Map<String, Object> probes = Json.parseObject(Files.readString(dir.resolve("probes.json")), "probes.json");
        assertEquals(List.of("trained", "random_init", "pixels"), List.copyOf(probes.keySet()));

        VisionTransformer enc = MocoTrainer.loadEncoder(dir.resolve("last.safetensors"));
        assertEquals(1, enc.config.inChans());
        FeatureNet net = FeatureNet.vit(enc, FeatureNet.evenlySpaced(1, 1), new double[] {0.2860}, new double[] {0.3530});
        Tensor x = Tensor.rand(new Generator(1), 2, 1, 28, 28);
        List<Tensor> maps;
        try (var ignored = Autograd.noGrad()) {
            maps = net.features(x);
        }
        assertEquals("[2, 16, 16]", maps.get(0).shape().toString());
        // the same weights as the run's base encoder: loading twice gives the same features
        try (var ignored = Autograd.noGrad()) {
            assertArrayEquals(maps.get(0).toFloatArray(),
                    FeatureNet.vit(MocoTrainer.loadEncoder(dir.resolve("last.safetensors")), new int[] {0}, new double[] {0.2860},
                            new double[] {0.3530}).features(x).get(0).toFloatArray());
        }
    }
}
