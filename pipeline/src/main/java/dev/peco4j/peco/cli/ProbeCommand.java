package dev.peco4j.peco.cli;

import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.probe.BlockProbes;
import dev.peco4j.peco.probe.VitCheckpoints;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peco probe}: linear and k-NN probes after every block of any ViT checkpoint. */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = {"Probe a frozen ViT after every block (BEiT's protocol: mean patch token, BatchNorm without affine, linear; and k-NN, k 20).",
                "--checkpoint takes a pretrain, finetune, train-perceptual or train-classifier checkpoint, or random:<checkpoint> for its architecture at init.",
                "Writes probes.md, probes.json and probes.png to --out."})
final class ProbeCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "The checkpoint (last.safetensors), or random:<checkpoint>.")
    String checkpoint;

    @Option(names = "--data", defaultValue = "subset", description = "subset, full, mnist, or a path (default ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--out", defaultValue = "runs/probe", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--probe-epochs", defaultValue = "50", description = "Epochs of each linear probe (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--limit-train", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int limitTrain;

    @Option(names = "--seed", defaultValue = "0", description = {"Seed of the linear probes, and of a random: ViT's init (for a pretrain checkpoint the one pretrain --seed", "starts from; default ${DEFAULT-VALUE})."})
    long seed;

    @Option(names = "--threads", description = "Kernel threads (default: all cores).")
    Integer threads;

    @Option(names = "--overwrite", description = "Replace the probes already in --out.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        if (threads != null) dev.peco4j.tensor.Device.configureCpu(threads);
        if (!overwrite && java.nio.file.Files.exists(out.resolve("probes.md"))) {
            throw new IllegalArgumentException("probe: " + out + " already holds probes (probes.md); add --overwrite to replace them, or choose another --out");
        }
        VitCheckpoints.Loaded m = VitCheckpoints.load(checkpoint, seed);
        DataSources.Splits s = DataSources.resolve(data);
        Dataset train = s.train().first(limitTrain);
        int classes = s.train().classes().size();
        System.out.printf("probe  %s ViT (%d blocks, width %d) of %s on %s: train %d, test %d images%n", m.kind(), m.vit().config.depth(),
                m.vit().config.embedDim(), checkpoint, s.name(), train.size(), s.test().size());
        List<BlockProbes.Row> rows;
        try (DataLoader tr = new DataLoader(train, m.view().apply(s), seed, DataLoader.Config.eval(256));
             DataLoader te = new DataLoader(s.test(), m.view().apply(s), seed, DataLoader.Config.eval(256))) {
            rows = BlockProbes.run(m.vit(), tr, te, classes, epochs, seed, System.out);
        }
        BlockProbes.write(out, checkpoint, rows);
        System.out.println("wrote " + out.resolve("probes.md") + ", probes.json, probes.png");
        return 0;
    }
}
