package dev.peco4j.peco.pretrain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.peco.data.DataLoader;
import dev.peco4j.peco.data.DataSources;
import dev.peco4j.peco.data.Dataset;
import dev.peco4j.peco.data.TensorDataset;
import dev.peco4j.peco.tokenizer.VQModel;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Interpolation;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The data side of pre-training: BEiT's two views of one crop, masks per (seed, epoch, index), and targets that line up with the patches. */
class MimTrainerTest {
    static PretrainConfig config(int imgSize, int patch, double cropMin) {
        return new PretrainConfig("subset", 0, 1, 8, 1e-3, 1e-5, 0, 0.05, 3, 0.1, 0.1, "tiny", imgSize, patch, false, "pixels", "", "", 0, 32, 0, 0, 0, 0.3,
                cropMin, 0.4, 0, 0, 0, 0, -1);
    }

    /** Asymmetric images: a ramp plus a bright block in one corner, so that a flip, a transpose or another crop shows. */
    static Dataset images(int n, int size) {
        byte[] data = new byte[n * size * size];
        int[] labels = new int[n];
        Generator g = new Generator(9);
        for (int i = 0; i < n; i++) {
            int by = g.nextInt(size / 2), bx = g.nextInt(size / 2);
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    float v = 0.3f * x / size + 0.1f * y / size;
                    if (y >= by && y < by + size / 3 && x >= bx && x < bx + size / 4) v += 0.6f;
                    data[(i * size + y) * size + x] = (byte) Math.round(v * 255);
                }
            }
        }
        return new TensorDataset("asymmetric", 1, size, size, data, labels, List.of("0"));
    }

    static DataSources.Splits splits(Dataset d) {
        return new DataSources.Splits("asymmetric", d, d, new double[] {0.5}, new double[] {0.25});
    }

    @Test
    void bothViewsAreTheSameCropAtTheirOwnSizes() {
        Dataset d = images(24, 28);
        PretrainConfig cfg = config(28, 4, 0.08);
        // the tokenizer's view of an f-2 tokenizer: 7 × 2 = 14 px
        try (DataLoader l = new DataLoader(d, MimTrainer.views(splits(d), cfg, 14), 5, DataLoader.Config.train(8).sharedDraws(true))) {
            DataLoader.Batch b = l.epoch(0, 0).next();
            Tensor vit = b.views().get(0).mul(0.25).add(0.5);                           // undo the normalization
            Tensor small = Interpolation.resize(vit, 14, 14, Interpolation.Mode.BILINEAR, false), tok = b.views().get(1);
            assertArrayEquals(new int[] {8, 1, 14, 14}, tok.shape().dims());
            double same = meanAbs(small.sub(tok)), flipped = meanAbs(small.flip(3).sub(tok)), transposed = meanAbs(small.transpose(2, 3).sub(tok));
            assertTrue(same < 0.03 && same * 3 < flipped && same * 3 < transposed,
                    "the tokenizer's view is the ViT's crop: mean |diff| " + same + ", flipped " + flipped + ", transposed " + transposed);
        }
        try (DataLoader l = new DataLoader(d, MimTrainer.views(splits(d), cfg, 14), 5, DataLoader.Config.train(8))) {
            DataLoader.Batch b = l.epoch(0, 0).next();
            Tensor small = Interpolation.resize(b.views().get(0).mul(0.25).add(0.5), 14, 14, Interpolation.Mode.BILINEAR, false);
            assertTrue(meanAbs(small.sub(b.views().get(1))) > 0.03, "without shared draws the views are different crops (the check can fail)");
        }
    }

    private static double meanAbs(Tensor t) {
        return t.abs().mean().item();
    }

    @Test
    void theTokenizersCodeGridLinesUpWithThePatchGridRowMajor() {
        VQModel tok = new VQModel(new Generator(4), VQModel.Config.small(1).withCodes(32));
        tok.eval();
        MaskedImageModel model = new MaskedImageModel(new Generator(5), MaskedImageModel.Config.small("tiny", 28, 4, 1, 32));
        int grid = model.config.gridSize(), f = tok.config.factor();
        assertEquals(7, grid);
        Dataset d = images(6, 28);
        PretrainConfig cfg = config(28, 4, 0.5);
        try (DataLoader l = new DataLoader(d, MimTrainer.views(splits(d), cfg, grid * f), 5, DataLoader.Config.train(6).sharedDraws(true))) {
            DataLoader.Batch b = l.epoch(0, 0).next();
            MaskingGenerator masking = new MaskingGenerator(cfg.masking(grid));
            Tensor mask = MimTrainer.masks(masking, 5, MaskingGenerator.MASK, 0, b.positions());
            Tensor view = b.views().get(1);
            Tensor codes = MimTrainer.codes(tok, view);                                  // (B, 49)
            assertArrayEquals(new int[] {6, grid * grid}, codes.shape().dims(), "one code per patch");
            int[] labels = codes.maskedRows(mask).toIntArray();
            Tensor z, book;
            try (var ignored = Autograd.noGrad()) {
                z = tok.encodeToPrequant(view.mul(2.0).sub(1.0));                       // (B, D, 7, 7)
                book = tok.quantize.lookup(Tensor.arange(32).reshape(1, 1, 32));          // (1, D, 1, 32)
            }
            assertArrayEquals(new int[] {6, tok.config.embedDim(), grid, grid}, z.shape().dims());
            double[] zd = z.toDoubleArray(), bd = book.toDoubleArray();
            boolean[] m = toBools(mask);
            int dim = tok.config.embedDim(), k = 0, checked = 0;
            for (int bi = 0; bi < 6; bi++) {
                for (int i = 0; i < grid * grid; i++) {
                    if (!m[bi * grid * grid + i]) continue;
                    int r = i / grid, c = i % grid, best = -1;                          // masked position i is patch (i / grid, i % grid) of the ViT
                    double bestD = Double.MAX_VALUE;
                    for (int code = 0; code < 32; code++) {
                        double dist = 0;
                        for (int ch = 0; ch < dim; ch++) {
                            double diff = zd[((bi * dim + ch) * grid + r) * grid + c] - bd[ch * 32 + code];
                            dist += diff * diff;
                        }
                        if (dist < bestD) {
                            bestD = dist;
                            best = code;
                        }
                    }
                    assertEquals(best, labels[k++], "image " + bi + ", masked patch (" + r + ", " + c + "): the label is the code at that cell");
                    checked++;
                }
            }
            assertEquals(labels.length, k);
            assertTrue(checked > 50, "checked " + checked + " masked positions");
            Tensor out = model.forward(b.images(), mask);
            assertEquals(labels.length, out.size(0), "one prediction per label, in the same order (x[mask])");
        }
    }

    private static boolean[] toBools(Tensor mask) {
        int[] v = mask.toIntArray();
        boolean[] out = new boolean[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] != 0;
        return out;
    }

    @Test
    void pixelTargetsArePatchesInMaesLayoutNormalizedPerPatch() {
        Tensor x = Tensor.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4).to(dev.peco4j.tensor.DType.FLOAT32);
        Tensor p = MimTrainer.patchify(x, 2);                                            // (2, 4, 12)
        assertArrayEquals(new int[] {2, 4, 12}, p.shape().dims());
        float[] row = p.select(0, 1).select(0, 2).toFloatArray();                        // image 1, patch (1, 0): rows 2-3, cols 0-1
        float[] want = new float[12];
        for (int pi = 0; pi < 2; pi++) for (int q = 0; q < 2; q++) for (int c = 0; c < 3; c++) want[(pi * 2 + q) * 3 + c] = ((1 * 3 + c) * 4 + 2 + pi) * 4 + q;
        assertArrayEquals(want, row, "(p, q, c) order within a patch");
        Tensor n = MimTrainer.normalizePatches(p);
        for (int i = 0; i < 8; i++) {
            float[] r = n.reshape(8, 12).select(0, i).toFloatArray();
            double s = 0, s2 = 0;
            for (float v : r) {
                s += v;
                s2 += v * v;
            }
            assertEquals(0, s / 12, 1e-5);
            assertEquals(11.0 / 12, s2 / 12, 1e-3, "unit unbiased variance");
        }
    }
}
