package dev.peco4j.peco.cli;

import dev.peco4j.nn.io.SafeTensors;
import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.perceptual.Probes;
import dev.peco4j.peco.tokenizer.ReconstructionGrid;
import dev.peco4j.peco.tokenizer.TokenProbe;
import dev.peco4j.peco.tokenizer.TokenizerTrainer;
import dev.peco4j.peco.tokenizer.VQModel;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The commands that use a trained tokenizer: tokenize, reconstruct, probe-tokens. */
final class TokenizerCommands {
    private TokenizerCommands() {}

    /** The images of a split, checked against the tokenizer's channel count (an error names both). */
    static Dataset split(String data, String split, int limit, VQModel m, Path checkpoint) throws java.io.IOException {
        DataSources.Splits s = DataSources.resolve(data);
        if (s.channels() != m.config.inChannels()) {
            throw new IllegalArgumentException("--data " + data + " has " + s.channels() + "-channel images, but the tokenizer in " + checkpoint
                    + " takes " + m.config.inChannels() + "-channel images");
        }
        Dataset d = switch (split) {
            case "train" -> s.train();
            case "test" -> s.test();
            default -> throw new IllegalArgumentException("--split must be train or test, got '" + split + "'");
        };
        return d.first(limit);
    }

    @Command(name = "tokenize", mixinStandardHelpOptions = true,
            description = "Images → code maps: writes a safetensors file with 'codes' (N, h, w) int32 and 'labels' (N) int32.")
    static final class Tokenize implements Callable<Integer> {
        @Option(names = "--checkpoint", required = true, description = "A train-tokenizer checkpoint (last.safetensors).")
        Path checkpoint;

        @Option(names = "--data", defaultValue = "subset", description = "subset, full, mnist or a path (default ${DEFAULT-VALUE}).")
        String data;

        @Option(names = "--split", defaultValue = "test", description = "train or test (default ${DEFAULT-VALUE}).")
        String split;

        @Option(names = "--limit", defaultValue = "0", description = "Only the first N images (0 = all).")
        int limit;

        @Option(names = "--out", required = true, description = "The safetensors file to write.")
        Path out;

        @Override
        public Integer call() throws Exception {
            TokenizerTrainer.Trained t = TokenizerTrainer.load(checkpoint);
            VQModel m = t.model();
            Dataset d = split(data, split, limit, m, checkpoint);
            Probes.Features f;
            try (DataLoader dl = new DataLoader(d, t.view(), 0, DataLoader.Config.eval(256))) {
                f = Probes.embed(dl, x -> TokenProbe.codes(m, x).to(DType.INT32));
            }
            Tensor all = f.x();
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("codes", all);
            tensors.put("labels", Tensor.ofInts(f.labels(), f.labels().length));
            SafeTensors.writeTensors(out, Map.of("tokenizer", checkpoint.toString(), "data", data, "split", split), tensors);
            System.out.printf("%d images → codes %s (%d codes in the book) in %s%n", all.size(0), all.shape(), m.config.nEmbed(), out.toAbsolutePath());
            return 0;
        }
    }

    @Command(name = "reconstruct", mixinStandardHelpOptions = true,
            description = "A PNG grid of test images, their reconstructions and their code maps (one color per code).")
    static final class Reconstruct implements Callable<Integer> {
        @Option(names = "--checkpoint", required = true, description = "A train-tokenizer checkpoint (last.safetensors).")
        Path checkpoint;

        @Option(names = "--data", defaultValue = "subset", description = "subset, full, mnist or a path (default ${DEFAULT-VALUE}).")
        String data;

        @Option(names = "--count", defaultValue = "12", description = "Images in the grid (default ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "--scale", defaultValue = "4", description = "Pixel size in the PNG (default ${DEFAULT-VALUE}).")
        int scale;

        @Option(names = "--out", defaultValue = "reconstruction.png", description = "The PNG to write (default ${DEFAULT-VALUE}).")
        Path out;

        @Override
        public Integer call() throws Exception {
            if (count < 1 || scale < 1) throw new IllegalArgumentException("reconstruct: need --count >= 1 and --scale >= 1");
            TokenizerTrainer.Trained t = TokenizerTrainer.load(checkpoint);
            Dataset d = split(data, "test", count, t.model(), checkpoint);
            try (DataLoader dl = new DataLoader(d, t.view(), 0, DataLoader.Config.eval(count)); DataLoader.Epoch it = dl.epoch(0, 0)) {
                DataLoader.Batch b = it.next();
                if (b.size() == 0) throw new IllegalArgumentException("reconstruct: no usable test image in --data " + data);
                ReconstructionGrid.write(t.model(), b.images(), scale, out);
            }
            System.out.printf("%d test images: originals, reconstructions, code maps in %s%n", d.size(), out.toAbsolutePath());
            return 0;
        }
    }

    @Command(name = "probe-tokens", mixinStandardHelpOptions = true,
            description = {"How semantic each tokenizer's codes are: code agreement under a small shift vs. noise of the same pixel error,",
                    "and a linear probe on bag-of-codes histograms. Prints one row per --checkpoint."})
    static final class ProbeTokens implements Callable<Integer> {
        @Option(names = "--checkpoint", required = true, arity = "1..*", description = "train-tokenizer checkpoints to compare.")
        List<Path> checkpoints;

        @Option(names = "--data", defaultValue = "subset", description = "subset, full, mnist or a path (default ${DEFAULT-VALUE}).")
        String data;

        @Option(names = "--train-images", defaultValue = "10000", description = "Training images of the bag-of-codes probe (default ${DEFAULT-VALUE}).")
        int trainImages;

        @Option(names = "--test-images", defaultValue = "0", description = "Test images (0 = all).")
        int testImages;

        @Option(names = "--shift", defaultValue = "2", description = "Shift in pixels (default ${DEFAULT-VALUE}).")
        int shift;

        @Option(names = "--probe-epochs", defaultValue = "50", description = "Epochs of the linear probe; its lr is chosen on a held-out tenth of the training images (default ${DEFAULT-VALUE}).")
        int probeEpochs;

        @Override
        public Integer call() throws Exception {
            if (shift < 1) throw new IllegalArgumentException("probe-tokens: need --shift >= 1");
            List<TokenizerTrainer.Trained> models = new ArrayList<>();
            for (Path c : checkpoints) models.add(TokenizerTrainer.load(c));
            Dataset train = split(data, "train", trainImages, models.get(0).model(), checkpoints.get(0)),
                    test = split(data, "test", testImages, models.get(0).model(), checkpoints.get(0));
            for (int i = 1; i < models.size(); i++) split(data, "test", 1, models.get(i).model(), checkpoints.get(i));
            System.out.printf("%d test images, shift %d px vs Gaussian noise of the same pixel MSE; bag-of-codes probe on %d training images%n%n",
                    test.size(), shift, train.size());
            System.out.println("| tokenizer | codes same after shift | codes same after noise | pixel MSE | bag-of-codes probe |");
            System.out.println("|---|---|---|---|---|");
            for (int i = 0; i < models.size(); i++) {
                TokenProbe.Result r = TokenProbe.run(models.get(i).model(), models.get(i).view(), train, test, shift, probeEpochs, 0);
                System.out.printf("| %s | %.1f%% | %.1f%% | %.4f | %.2f%% |%n", checkpoints.get(i), 100 * r.shiftAgreement(), 100 * r.noiseAgreement(), r.pixelMse(),
                        100 * r.bagOfCodesAccuracy());
            }
            return 0;
        }
    }
}
