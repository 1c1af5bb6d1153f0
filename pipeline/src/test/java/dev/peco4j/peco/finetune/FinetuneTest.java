package dev.peco4j.peco.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.ParamGroup;
import dev.peco4j.peco.data.Image;
import dev.peco4j.peco.data.Transforms;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.pretrain.MaskedImageModel;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** BEiT's fine-tuning pieces: layer-wise lr decay, the checkpoint conversion, timm's Mixup/CutMix and random erasing. */
class FinetuneTest {
    @Test
    void layerDecayScalesAreBeitsForVitB() {
        double[] s = LayerDecay.scales(12, 0.65);
        assertEquals(Math.pow(0.65, 13), s[0], 1e-15);
        assertEquals(0.0037, s[0], 5e-5, "patch embed / cls ≈ 0.0037 (peco-spec §4.2)");
        assertEquals(0.0057, s[1], 5e-5, "block 0");
        assertEquals(0.4225, s[11], 1e-12, "block 10");
        assertEquals(0.65, s[12], 1e-12, "block 11");
        assertEquals(1.0, s[13], "head");
        assertEquals(0, LayerDecay.layerId("patch_embed.proj.weight", 12));
        assertEquals(0, LayerDecay.layerId("cls_token", 12));
        assertEquals(4, LayerDecay.layerId("blocks.3.attn.qkv.weight", 12));
        assertEquals(13, LayerDecay.layerId("fc_norm.weight", 12));
        assertEquals(13, LayerDecay.layerId("head.weight", 12));
        assertEquals(13, LayerDecay.layerId("rel_pos_bias.relative_position_bias_table", 12));
    }

    @Test
    void groupsSplitByLayerAndDecayAndCoverEveryParameterOnce() {
        VisionTransformer m = new VisionTransformer(new Generator(1), VisionTransformer.Config.of(16, 4, 32, 3, 4).withNumClasses(5)
                .withRelPos(VisionTransformer.RelPos.PER_BLOCK).withPool(VisionTransformer.Pool.AVG).withLayerScaleInit(0.1).withPosEmbed(VisionTransformer.PosEmbed.NONE));
        List<ParamGroup> groups = LayerDecay.groups(m, 1e-3, 0.05, 0.5, true);
        int count = 0;
        for (ParamGroup g : groups) {
            count += g.params.size();
            int id = Integer.parseInt(g.name.split("_")[1]);
            assertEquals(Math.pow(0.5, 4 - id), g.lrScale, 1e-15, g.name);
            assertEquals(g.name.endsWith("_no_decay") ? 0 : 0.05, g.weightDecay, g.name);
        }
        assertEquals(m.namedParameters().size(), count);
        Map<String, Tensor> p = m.namedParameters();
        assertTrue(LayerDecay.noWeightDecay("blocks.0.gamma_1", p.get("blocks.0.gamma_1"), true));
        assertTrue(!LayerDecay.noWeightDecay("blocks.0.attn.relative_position_bias_table", p.get("blocks.0.attn.relative_position_bias_table"), true));
        assertTrue(LayerDecay.noWeightDecay("blocks.0.attn.relative_position_bias_table", p.get("blocks.0.attn.relative_position_bias_table"), false));
    }

    @Test
    void aPretrainedModelConvertsToPerBlockTablesWithTheSameFeatures() {
        VisionTransformer.Config v = MaskedImageModel.Config.pretraining(VisionTransformer.Config.of(16, 4, 32, 3, 4), 0, 0.1);
        MaskedImageModel mim = new MaskedImageModel(new Generator(2), MaskedImageModel.Config.of(v, 24));
        try (var ignored = Autograd.noGrad()) {
            mim.relPos.table.copyFrom(Tensor.randn(new Generator(3), mim.relPos.table.shape().dims()));
        }
        VisionTransformer ft = new VisionTransformer(new Generator(4), v.withRelPos(VisionTransformer.RelPos.PER_BLOCK));
        var report = ft.loadStateDict(FineTuner.fromPretrained(mim.stateDict(), 3, false), false);
        assertTrue(report.unexpected().isEmpty() && report.shapeMismatches().isEmpty(), report.toString());
        assertTrue(report.missing().stream().allMatch(k -> k.endsWith("relative_position_index")), report.toString());
        mim.eval();
        ft.eval();
        Tensor x = Tensor.randn(new Generator(5), 2, 3, 16, 16);
        try (var ignored = Autograd.noGrad()) {
            assertArrayEquals(mim.forwardFeatures(x).toFloatArray(), ft.forwardFeatures(x).toFloatArray(), 1e-6f,
                    "the shared table copied into each block gives the same tokens");
        }
        Map<String, Tensor> meanPooled = FineTuner.fromPretrained(mim.stateDict(), 3, true);
        assertTrue(meanPooled.keySet().stream().noneMatch(k -> k.startsWith("norm.") || k.startsWith("lm_head.") || k.equals("mask_token")), meanPooled.keySet().toString());
    }

    @Test
    void everyBackboneTensorOfAMimCheckpointArrivesInTheClassifier() {
        VisionTransformer.Config v = MaskedImageModel.Config.pretraining(VisionTransformer.Config.of(16, 4, 32, 3, 4), 0.1, 0.1);
        MaskedImageModel mim = new MaskedImageModel(new Generator(12), MaskedImageModel.Config.of(v, 24));
        try (var ignored = Autograd.noGrad()) {
            for (Tensor p : mim.parameters()) p.copyFrom(Tensor.randn(new Generator(p.numel()), p.shape().dims()));   // nothing left at its init value
        }
        VisionTransformer ft = new VisionTransformer(new Generator(13), v.withNumClasses(10).withRelPos(VisionTransformer.RelPos.PER_BLOCK)
                .withPool(VisionTransformer.Pool.AVG));
        Map<String, Tensor> converted = FineTuner.fromPretrained(mim.stateDict(), 3, true);
        ft.loadStateDict(converted, false);
        Map<String, Tensor> mimState = mim.stateDict(), ftState = ft.stateDict();
        int arrived = 0;
        for (var e : mimState.entrySet()) {
            String k = e.getKey();
            if (k.equals("mask_token") || k.startsWith("lm_head.") || k.startsWith("norm.") || k.startsWith("rel_pos_bias.")) continue;
            assertTrue(ftState.containsKey(k), k + " has a place in the classifier");
            assertArrayEquals(e.getValue().shape().dims(), ftState.get(k).shape().dims(), k);
            assertArrayEquals(e.getValue().toDoubleArray(), ftState.get(k).toDoubleArray(), 0, k + " arrived");
            arrived++;
        }
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(mimState.get("rel_pos_bias.relative_position_bias_table").toDoubleArray(),
                    ftState.get("blocks." + i + ".attn.relative_position_bias_table").toDoubleArray(), 0, "the shared table copied into block " + i);
        }
        assertEquals(3 + 3 * 15, arrived, "cls_token, patch_embed.proj.{weight,bias} and 15 per block (gamma 2, norms 4, q/v bias 2, qkv 1, proj 2, mlp 4)");
    }

    @Test
    void layerIdsFollowBeitsRuleOnEveryNameOfAVitB() {
        // ViT-B's names, on a narrow model of the same depth (building ViT-B itself takes half a minute)
        VisionTransformer m = new VisionTransformer(new Generator(14), VisionTransformer.Config.of(32, 16, 16, 12, 2).withNumClasses(1000)
                .withRelPos(VisionTransformer.RelPos.PER_BLOCK).withPool(VisionTransformer.Pool.AVG).withLayerScaleInit(0.1).withPosEmbed(VisionTransformer.PosEmbed.NONE));
        for (String n : m.namedParameters().keySet()) {
            int want = n.startsWith("blocks.") ? Integer.parseInt(n.split("\\.")[1]) + 1 : n.equals("cls_token") || n.startsWith("patch_embed.") ? 0 : 13;
            assertEquals(want, LayerDecay.layerId(n, 12), n);
        }
        List<ParamGroup> groups = LayerDecay.groups(m, 4e-3, 0.05, 0.65, true);
        assertEquals(2 * 14, groups.size(), "a decay and a no-decay group for each of the 14 layer ids");
    }

    @Test
    @SuppressWarnings("unchecked")
    void relativeTablesResizeAsBeitDoesWithScipy() throws Exception {
        // BEiT's algorithm with scipy 1.10's interp2d (pipeline/src/test/python/beit_relpos_resize.py)
        String text = java.nio.file.Files.readString(java.nio.file.Path.of(getClass().getResource("/fixtures/beit_relpos_resize.json").toURI()));
        for (Object o : (List<Object>) dev.peco4j.nn.io.Json.parseObject(text, "fixture").get("cases")) {
            Map<String, Object> c = (Map<String, Object>) o;
            int src = ((Number) c.get("src")).intValue(), dst = ((Number) c.get("dst")).intValue();
            Tensor table = matrix((List<Object>) c.get("table")), want = matrix((List<Object>) c.get("resized"));
            Tensor got = dev.peco4j.nn.RelativePositionBias.resizeTable(table, src, dst);
            assertArrayEquals(want.shape().dims(), got.shape().dims());
            assertArrayEquals(want.toDoubleArray(), got.toDoubleArray(), 1e-6, src + "x" + src + " -> " + dst + "x" + dst);
        }
        Tensor t = Tensor.randn(new Generator(15), 172, 2);
        assertTrue(t == dev.peco4j.nn.RelativePositionBias.resizeTable(t, 7, 7), "the same window: the table as it is");
    }

    @Test
    void anotherResolutionResizesTablesAndPositionsAndTheSameOneChangesNothing() {
        VisionTransformer.Config v = MaskedImageModel.Config.pretraining(VisionTransformer.Config.of(28, 4, 32, 2, 4), 0, 0.1)
                .withPosEmbed(VisionTransformer.PosEmbed.LEARNED);
        MaskedImageModel mim = new MaskedImageModel(new Generator(16), MaskedImageModel.Config.of(v, 24));
        try (var ignored = Autograd.noGrad()) {
            mim.relPos.table.copyFrom(Tensor.randn(new Generator(17), mim.relPos.table.shape().dims()));
        }
        Map<String, Tensor> same = FineTuner.fromPretrained(mim.stateDict(), 2, true, 7, 7), plain = FineTuner.fromPretrained(mim.stateDict(), 2, true);
        assertEquals(plain.keySet(), same.keySet());
        for (String k : plain.keySet()) assertArrayEquals(plain.get(k).toDoubleArray(), same.get(k).toDoubleArray(), 0, k + " at the same resolution");
        VisionTransformer at28 = new VisionTransformer(new Generator(18), v.withNumClasses(10).withRelPos(VisionTransformer.RelPos.PER_BLOCK).withPool(VisionTransformer.Pool.AVG));
        at28.loadStateDict(same, false);
        VisionTransformer again = new VisionTransformer(new Generator(18), at28.config);
        again.loadStateDict(plain, false);
        at28.eval();
        again.eval();
        Tensor x = Tensor.randn(new Generator(19), 2, 3, 28, 28);
        try (var ignored = Autograd.noGrad()) {
            assertArrayEquals(again.forward(x).toFloatArray(), at28.forward(x).toFloatArray(), 0f, "the same resolution: the same model output");
        }

        Map<String, Tensor> at32 = FineTuner.fromPretrained(mim.stateDict(), 2, true, 7, 8);
        assertArrayEquals(new int[] {15 * 15 + 3, 4}, at32.get("blocks.1.attn.relative_position_bias_table").shape().dims());
        assertArrayEquals(new int[] {1, 65, 32}, at32.get("pos_embed").shape().dims());
        assertArrayEquals(mim.stateDict().get("pos_embed").narrow(1, 0, 1).toDoubleArray(), at32.get("pos_embed").narrow(1, 0, 1).toDoubleArray(), 0,
                "the [CLS] position is kept");
        VisionTransformer big = new VisionTransformer(new Generator(20), VisionTransformer.Config.of(32, 4, 32, 2, 4).withLayerScaleInit(0.1).withNumClasses(10)
                .withRelPos(VisionTransformer.RelPos.PER_BLOCK).withPool(VisionTransformer.Pool.AVG));
        var report = big.loadStateDict(at32, false);
        assertTrue(report.unexpected().isEmpty() && report.shapeMismatches().isEmpty(), report.toString());
    }

    @Test
    void aLabelFractionKeepsTheFirstShareOfEveryClass() throws Exception {
        dev.peco4j.peco.data.Dataset all = dev.peco4j.peco.data.DataSources.subset().train();
        int[] total = new int[10];
        for (int i = 0; i < all.size(); i++) total[all.get(i).label()]++;
        dev.peco4j.peco.data.Dataset tenth = all.perClass(0.1);
        int[] kept = new int[10];
        for (int i = 0; i < tenth.size(); i++) kept[tenth.get(i).label()]++;
        for (int c = 0; c < 10; c++) assertEquals((int) Math.ceil(0.1 * total[c]), kept[c], "class " + c);
        assertTrue(all.perClass(1.0) == all);
        assertEquals(10, all.perClass(0.001).size(), "at least one image of each class");
        for (int i = 0; i < tenth.size(); i++) assertEquals(tenth.get(i).label(), tenth.label(i));
    }

    @Test
    void aLabelFractionOfAFolderReadsNoImage(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        for (String c : new String[] {"cat", "dog"}) {
            java.nio.file.Files.createDirectories(dir.resolve(c));
            for (int i = 0; i < 10; i++) java.nio.file.Files.writeString(dir.resolve(c).resolve(i + ".png"), "not a png");   // would fail to decode
        }
        dev.peco4j.peco.data.Dataset folder = new dev.peco4j.peco.data.ImageFolder(dir, 3);
        dev.peco4j.peco.data.Dataset half = folder.perClass(0.3);
        assertEquals(6, half.size());
        assertEquals(List.of(0, 0, 0, 1, 1, 1), java.util.stream.IntStream.range(0, 6).map(half::label).boxed().toList());
        org.junit.jupiter.api.Assertions.assertThrows(dev.peco4j.peco.data.CorruptImageException.class, () -> half.get(0), "the images are only read when used");
    }

    private static Tensor matrix(List<Object> rows) {
        int r = rows.size(), c = ((List<?>) rows.get(0)).size();
        double[] d = new double[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) d[i * c + j] = ((Number) ((List<?>) rows.get(i)).get(j)).doubleValue();
        return Tensor.of(d, r, c);
    }

    @Test
    void mixupAndCutmixMixImagesAndSmoothedTargetsAlike() {
        Mixup mix = new Mixup(0.8, 1.0, 1.0, 0.5, 0.1, 4);
        Tensor x = Tensor.randn(new Generator(6), 6, 1, 8, 8), y = Tensor.ofInts(new int[] {0, 1, 2, 3, 0, 1}, 6);
        int cutmixes = 0;
        for (int step = 0; step < 200; step++) {
            Mixup.Result r = mix.apply(x, y, Generator.derive(7, step));
            assertTrue(r.lambda() >= 0 && r.lambda() <= 1, "lambda " + r.lambda());
            float[] t = r.targets().toFloatArray();
            for (int i = 0; i < 6; i++) {
                double sum = 0;
                for (int k = 0; k < 4; k++) sum += t[i * 4 + k];
                assertEquals(1, sum, 1e-5, "row " + i + " is a distribution");
            }
            // image 0's own class (0) holds lambda·(0.9 + 0.025) + (1 − lambda)·(its partner's weight on class 0)
            double own = r.lambda() * 0.925 + (1 - r.lambda()) * (y.toIntArray()[5] == 0 ? 0.925 : 0.025);
            assertEquals(own, t[0], 1e-5);
            if (r.cutmix()) {
                cutmixes++;
                float[] a = x.toFloatArray(), b = r.images().toFloatArray(), f = x.flip(0).toFloatArray();
                int fromPartner = 0;
                for (int j = 0; j < 64; j++) {
                    if (b[j] == f[j] && b[j] != a[j]) fromPartner++;
                    else assertEquals(a[j], b[j], "outside the box image 0 keeps its pixels");
                }
                assertEquals(1 - fromPartner / 64.0, r.lambda(), 1e-9, "lambda corrected to the pasted box");
            }
        }
        assertTrue(cutmixes > 50 && cutmixes < 150, "CutMix on about half the batches: " + cutmixes);
        Mixup.Result none = new Mixup(0.8, 1.0, 0.0, 0.5, 0.1, 4).apply(x, y, new Generator(8));
        assertEquals(1.0, none.lambda());
        assertArrayEquals(x.toFloatArray(), none.images().toFloatArray());
    }

    @Test
    void betaDrawsHaveTheRightMoments() {
        Generator g = new Generator(9);
        double a = 0.8, sum = 0, sq = 0;
        int n = 20000;
        for (int i = 0; i < n; i++) {
            double v = Mixup.beta(g, a);
            sum += v;
            sq += v * v;
        }
        double mean = sum / n, var = sq / n - mean * mean;
        assertEquals(0.5, mean, 0.01);
        assertEquals(1 / (4 * (2 * a + 1)), var, 0.005, "Beta(a, a) variance 1/(4(2a+1))");
    }

    @Test
    void randomErasingFillsOneBoxWithNoise() {
        Image img = new Image(1, 20, 20, new float[400]);
        int erased = 0;
        for (int i = 0; i < 100; i++) {
            Image out = Transforms.randomErasing(1.0, 0.02, 1.0 / 3, 0.3).apply(img, Generator.derive(10, i));
            int changed = 0;
            for (float v : out.data()) if (v != 0) changed++;
            if (changed > 0) erased++;
            assertTrue(changed <= 400 / 3 + 20, "at most a third of the image (rounding aside): " + changed);
        }
        assertTrue(erased > 90, "p 1: almost every image erased (a box may not fit in 10 tries): " + erased);
        assertArrayEquals(img.data(), Transforms.randomErasing(0.0, 0.02, 1.0 / 3, 0.3).apply(img, new Generator(11)).data());
    }

    @Test
    void aboveThirtyTwoPixelsTrainingCropsAndResizesAndTestingResizesThenCropsTheCenter() {
        double[] mean = {0.5, 0.4, 0.3}, std = {0.2, 0.2, 0.2};
        Image img = new Image(3, 100, 80, new float[3 * 100 * 80]);
        for (int i = 0; i < img.data().length; i++) img.data()[i] = (i * 37 % 101) / 100f;
        // the test view: shorter side int(64 / 0.875) = 73 (the longer int(73 * 100 / 80) = 91), then the center 64 x 64
        Image eval = FineTuner.evalTransform(mean, std, 64).apply(img, new Generator(1));
        Image expect = dev.peco4j.peco.data.Transform.compose(Transforms.resizeShorter(73, dev.peco4j.peco.data.Resample.BICUBIC), Transforms.centerCrop(64),
                Transforms.normalize(mean, std)).apply(img, new Generator(1));
        assertEquals(List.of(3, 64, 64), List.of(eval.channels(), eval.height(), eval.width()));
        assertArrayEquals(expect.data(), eval.data());
        Image rows = new Image(1, 91, 73, new float[91 * 73]);
        for (int i = 0; i < rows.data().length; i++) rows.data()[i] = i / 73 * 1000 + i % 73;
        Image cc = Transforms.centerCrop(64).apply(rows, new Generator(1));
        assertEquals(14 * 1000 + 4, cc.data()[0], "torchvision's offsets round(27 / 2) = 14 (half to even) and round(9 / 2) = 4");
        Image shorter = Transforms.resizeShorter(73, null).apply(img, new Generator(1));
        assertEquals(List.of(91, 73), List.of(shorter.height(), shorter.width()), "torchvision's Resize(73) of a 100 x 80 image");
        Image tall = new Image(3, 400, 384, new float[3 * 400 * 384]);
        for (int i = 0; i < tall.data().length; i++) tall.data()[i] = (i * 37 % 101) / 100f;
        assertArrayEquals(dev.peco4j.peco.data.Transform.compose(Transforms.centerCrop(384), Transforms.normalize(mean, std)).apply(tall, new Generator(1)).data(),
                FineTuner.evalTransform(mean, std, 384).apply(tall, new Generator(1)).data(), "from 384 px the crop is the whole shorter side, not resized");
        // training: a random resized crop to 64 x 64; two draws differ; at most 32 px: the padded random crop keeps the size
        var train = FineTuner.trainTransform(mean, std, 64, "rand-m9-mstd0.5-inc1", 0.25);
        Image a = train.apply(img, Generator.derive(2, 0)), b = train.apply(img, Generator.derive(2, 1));
        assertEquals(List.of(3, 64, 64), List.of(a.channels(), a.height(), a.width()));
        assertTrue(!java.util.Arrays.equals(a.data(), b.data()));
        Image small = FineTuner.trainTransform(mean, std, 28, "none", 0).apply(new Image(3, 28, 28, new float[3 * 28 * 28]), new Generator(3));
        assertEquals(List.of(28, 28), List.of(small.height(), small.width()));
    }
}
