package dev.peco4j.peco.model;

import dev.peco4j.nn.Attention;
import dev.peco4j.nn.Block;
import dev.peco4j.nn.Conv2d;
import dev.peco4j.nn.Init;
import dev.peco4j.nn.LayerNorm;
import dev.peco4j.nn.Linear;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.ModuleList;
import dev.peco4j.nn.RelativePositionBias;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import dev.peco4j.nn.io.SafeTensors;
import java.util.List;
import java.util.Map;

/**
 * A Vision Transformer built from BEiT blocks, with timm/BEiT parameter names (patch_embed.proj,
 * cls_token, pos_embed, blocks.i.*, norm or fc_norm, head). Letters: B batch, C input channels,
 * P patch size, N = (img/P)² patches, D embedding width.
 *
 * <p>image (B, C, H, W) → conv P×P stride P → (B, N, D) → [cls; patches] + pos_embed → blocks →
 * norm ({@link #forwardFeatures}: tokens, as timm) → pool (the cls token, or the mean of the patch
 * tokens then fc_norm) → head ({@link #forwardHead}). {@link #forwardIntermediates} returns the
 * token maps after chosen blocks, running no block past the last one asked for.
 *
 * <p>Initialization is BEiT's: trunc_normal(0.02) for linear weights and learned embeddings, zero
 * biases, and the residual projections (attn.proj, mlp.fc2) of block i scaled by 1/√(2(i+1)).
 *
 * <pre>{@code
 * var c = VisionTransformer.Config.of(32, 4, 128, 6, 4).withInChans(1).withNumClasses(10).withPool(Pool.AVG);
 * VisionTransformer vit = new VisionTransformer(new Generator(0), c);
 * List<Tensor> taps = vit.forwardIntermediates(x, new int[] {1, 3, -1}, true, false); // 3 × (B, 64, 128)
 * }</pre>
 */
public class VisionTransformer extends Module {
    /** The position embedding added to the tokens before the first block. */
    public enum PosEmbed {
        /** none (BEiT with a relative position bias only) */
        NONE,
        /** learned, trunc_normal(0.02) initialized: {@code pos_embed}, a parameter */
        LEARNED,
        /** fixed 2-D sin-cos (MoCo v3's build_2d_sincos_position_embedding): {@code pos_embed}, a buffer */
        SINCOS
    }

    /** BEiT's relative position bias: none, one table shared by all blocks (pre-training), or one per block (fine-tuning). */
    public enum RelPos { NONE, SHARED, PER_BLOCK }

    /** How the head sees the tokens: timm's global_pool 'token' (the cls token after norm) or 'avg' (mean of patch tokens, then fc_norm). */
    public enum Pool { TOKEN, AVG }

    /**
     * relPos: BEiT's relative position bias: none, one shared by all blocks (pre-training's
     * use_shared_rel_pos_bias) or one table per block (fine-tuning's use_rel_pos_bias).
     * Build one with {@link #of} and the withers, or take a preset.
     */
    public record Config(int imgSize, int patchSize, int inChans, int numClasses, int embedDim, int depth, int heads, double mlpRatio,
                         double dropPath, double layerScaleInit, PosEmbed posEmbed, RelPos relPos, Pool pool, Attention.QkvBias qkvBias) {
        public Config {
            if (imgSize < 1 || patchSize < 1 || imgSize % patchSize != 0) {
                throw new IllegalArgumentException("ViT: image size " + imgSize + " is not a multiple of patch size " + patchSize);
            }
            if (inChans < 1 || numClasses < 0 || depth < 1 || heads < 1 || embedDim % heads != 0) {
                throw new IllegalArgumentException("ViT: need channels >= 1, classes >= 0, depth >= 1 and width " + embedDim
                        + " divisible by " + heads + " heads");
            }
            if (!(dropPath >= 0 && dropPath < 1)) throw new IllegalArgumentException("ViT: drop path rate must be in [0, 1), got " + dropPath);
            if (!(mlpRatio > 0) || !(layerScaleInit >= 0)) {
                throw new IllegalArgumentException("ViT: need MLP ratio > 0 and LayerScale init >= 0, got " + mlpRatio + ", " + layerScaleInit);
            }
            if (posEmbed == PosEmbed.SINCOS && embedDim % 4 != 0) {
                throw new IllegalArgumentException("ViT: the 2-D sin-cos position embedding needs a width divisible by 4, got " + embedDim);
            }
        }

        /**
         * A ViT of this size with BEiT's blocks and timm's defaults: 3 channels, no head, MLP ratio 4, no
         * drop path, no LayerScale, a learned position embedding, no relative bias, the cls token
         * pooled, BEiT's q/v bias.
         */
        public static Config of(int imgSize, int patchSize, int embedDim, int depth, int heads) {
            return new Config(imgSize, patchSize, 3, 0, embedDim, depth, heads, 4.0, 0, 0, PosEmbed.LEARNED, RelPos.NONE, Pool.TOKEN, Attention.QkvBias.QV);
        }

        public Config withInChans(int n) {
            return new Config(imgSize, patchSize, n, numClasses, embedDim, depth, heads, mlpRatio, dropPath, layerScaleInit, posEmbed, relPos, pool, qkvBias);
        }

        public Config withNumClasses(int n) {
            return new Config(imgSize, patchSize, inChans, n, embedDim, depth, heads, mlpRatio, dropPath, layerScaleInit, posEmbed, relPos, pool, qkvBias);
        }

        public Config withMlpRatio(double r) {
            return new Config(imgSize, patchSize, inChans, numClasses, embedDim, depth, heads, r, dropPath, layerScaleInit, posEmbed, relPos, pool, qkvBias);
        }

        public Config withDropPath(double rate) {
            return new Config(imgSize, patchSize, inChans, numClasses, embedDim, depth, heads, mlpRatio, rate, layerScaleInit, posEmbed, relPos, pool, qkvBias);
        }

        public Config withLayerScaleInit(double v) {
            return new Config(imgSize, patchSize, inChans, numClasses, embedDim, depth, heads, mlpRatio, dropPath, v, posEmbed, relPos, pool, qkvBias);
        }

        public Config withPosEmbed(PosEmbed p) {
            return new Config(imgSize, patchSize, inChans, numClasses, embedDim, depth, heads, mlpRatio, dropPath, layerScaleInit, p, relPos, pool, qkvBias);
        }

        public Config withRelPos(RelPos r) {
            return new Config(imgSize, patchSize, inChans, numClasses, embedDim, depth, heads, mlpRatio, dropPath, layerScaleInit, posEmbed, r, pool, qkvBias);
        }

        public Config withPool(Pool p) {
            return new Config(imgSize, patchSize, inChans, numClasses, embedDim, depth, heads, mlpRatio, dropPath, layerScaleInit, posEmbed, relPos, p, qkvBias);
        }

        public Config withQkvBias(Attention.QkvBias b) {
            return new Config(imgSize, patchSize, inChans, numClasses, embedDim, depth, heads, mlpRatio, dropPath, layerScaleInit, posEmbed, relPos, pool, b);
        }

        /**
         * The ViT of MoCo v3 (its vits.py on timm's VisionTransformer): fixed 2-D sin-cos position
         * embedding, timm's qkv bias, no LayerScale, the cls token after the final norm; no head.
         */
        public static Config mocoV3(int imgSize, int patchSize, int embedDim, int depth, int heads) {
            return of(imgSize, patchSize, embedDim, depth, heads).withPosEmbed(PosEmbed.SINCOS).withQkvBias(Attention.QkvBias.QKV);
        }

        public int gridSize() {
            return imgSize / patchSize;
        }

        public int numPatches() {
            return gridSize() * gridSize();
        }

        /** The small ViT for 28×28 images padded to 32: patch 4 (64 tokens), depth 6, MLP ratio 2, drop path 0.1, mean pooling. */
        public static Config small32(int inChans, int numClasses, int width, int heads) {
            return of(32, 4, width, 6, heads).withInChans(inChans).withNumClasses(numClasses).withMlpRatio(2.0).withDropPath(0.1).withPool(Pool.AVG);
        }

        /** ViT-B/16 as BEiT fine-tunes it (timm's beit_base_patch16_224 at 224): a relative bias table per block, LayerScale 0.1, mean pooling. */
        public static Config base(int imgSize, int numClasses) {
            return beit(imgSize, 16, 768, 12, 12, 0.1, 0.1, numClasses);
        }

        /** ViT-L/16 as BEiT fine-tunes it (beit_large_patch16_224 at 224). */
        public static Config large(int imgSize, int numClasses) {
            return beit(imgSize, 16, 1024, 24, 16, 0.2, 1e-5, numClasses);
        }

        /** ViT-H/14 as PeCo fine-tunes it. */
        public static Config huge(int imgSize, int numClasses) {
            return beit(imgSize, 14, 1280, 32, 16, 0.3, 1e-5, numClasses);
        }

        private static Config beit(int imgSize, int patch, int width, int depth, int heads, double dropPath, double layerScale, int classes) {
            return of(imgSize, patch, width, depth, heads).withNumClasses(classes).withDropPath(dropPath).withLayerScaleInit(layerScale)
                    .withPosEmbed(PosEmbed.NONE).withRelPos(RelPos.PER_BLOCK).withPool(Pool.AVG);
        }
    }

    public final Config config;
    public final Conv2d patchEmbed;
    /** cls_token (1, 1, D); pos_embed (1, N+1, D): a parameter when learned, a buffer when sin-cos, null when none. */
    public final Tensor clsToken, posEmbed;
    public final RelativePositionBias relPos;
    public final ModuleList<Block> blocks;
    public final LayerNorm norm, fcNorm;
    public final Linear head;

    public VisionTransformer(Generator gen, Config c) {
        this.config = c;
        this.clsToken = parameter("cls_token", Tensor.zeros(DType.FLOAT32, 1, 1, c.embedDim()));
        this.posEmbed = switch (c.posEmbed()) {
            case LEARNED -> parameter("pos_embed", Tensor.zeros(DType.FLOAT32, 1, c.numPatches() + 1, c.embedDim()));
            case SINCOS -> buffer("pos_embed", sinCosPositionEmbedding(c.gridSize(), c.gridSize(), c.embedDim()), true);
            case NONE -> null;
        };
        this.patchEmbed = child("patch_embed", new PatchEmbed(gen, c)).proj;
        this.relPos = c.relPos() == RelPos.SHARED ? child("rel_pos_bias", new RelativePositionBias(c.gridSize(), c.gridSize(), c.heads())) : null;
        this.blocks = child("blocks", new ModuleList<>());
        for (int i = 0; i < c.depth(); i++) {
            double dpr = c.depth() == 1 ? 0 : c.dropPath() * i / (c.depth() - 1); // linear decay rule, as timm/BEiT
            int window = c.relPos() == RelPos.PER_BLOCK ? c.gridSize() : 0;
            blocks.add(new Block(gen, new Block.Config(c.embedDim(), c.heads(), c.mlpRatio(), c.qkvBias(), 0, 0, dpr, c.layerScaleInit(), window, window, 1e-6)));
        }
        boolean avg = c.pool() == Pool.AVG;
        this.norm = avg ? null : child("norm", new LayerNorm(c.embedDim(), 1e-6));
        this.fcNorm = avg ? child("fc_norm", new LayerNorm(c.embedDim(), 1e-6)) : null;
        this.head = c.numClasses() > 0 ? child("head", new Linear(gen, c.embedDim(), c.numClasses())) : null;
        initWeights(gen);
    }

    /**
     * A ViT of this config with the weights of a safetensors file under timm's names (as
     * scripts/convert-moco-v3.py writes them), loaded strictly: a missing, unexpected or mis-shaped
     * key is an error naming the file and the keys.
     */
    public static VisionTransformer load(java.nio.file.Path file, Config c) throws java.io.IOException {
        VisionTransformer vit = new VisionTransformer(new Generator(0), c);
        Map<String, Tensor> state = SafeTensors.read(file).tensors();
        try {
            vit.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("safetensors " + file + ": " + e.getMessage(), e);
        }
        return vit;
    }

    /**
     * MoCo v3's fixed 2-D sin-cos position embedding (1, 1 + h·w, D), exactly as
     * {@code build_2d_sincos_position_embedding} lays it out: a zero row for [CLS], then for patch m
     * [sin(i·ω), cos(i·ω), sin(j·ω), cos(j·ω)] with ω_k = 1/10000^(k/(D/4)), k &lt; D/4. Its
     * {@code torch.meshgrid(arange(w), arange(h))} indexes 'ij', so i = m / h and j = m % h: the
     * "w" quarter follows the row of a row-major patch grid. Computed in double, stored as float32.
     */
    public static Tensor sinCosPositionEmbedding(int h, int w, int dim) {
        if (dim % 4 != 0) throw new IllegalArgumentException("sin-cos position embedding: width " + dim + " is not divisible by 4");
        int q = dim / 4;
        float[] out = new float[(1 + h * w) * dim];
        for (int m = 0; m < h * w; m++) {
            int i = m / h, j = m % h, row = (1 + m) * dim;
            for (int k = 0; k < q; k++) {
                double omega = 1 / Math.pow(10000, (double) k / q);
                out[row + k] = (float) Math.sin(i * omega);
                out[row + q + k] = (float) Math.cos(i * omega);
                out[row + 2 * q + k] = (float) Math.sin(j * omega);
                out[row + 3 * q + k] = (float) Math.cos(j * omega);
            }
        }
        return Tensor.of(out, 1, 1 + h * w, dim);
    }

    private void initWeights(Generator gen) {
        Init.beitTruncNormal(clsToken, gen, 0.02);
        if (config.posEmbed() == PosEmbed.LEARNED) Init.beitTruncNormal(posEmbed, gen, 0.02);
        for (Module m : namedModules().values()) {
            if (m instanceof Linear l) {
                Init.beitTruncNormal(l.weight, gen, 0.02);
                if (l.bias != null) Init.zeros(l.bias);
            }
        }
        for (int i = 0; i < blocks.size(); i++) {
            double s = 1 / Math.sqrt(2.0 * (i + 1));
            Block b = blocks.get(i);
            try (var ignored = dev.peco4j.tensor.Autograd.noGrad()) {
                b.attn.proj.weight.mulInPlace(s);
                b.mlp.fc2.weight.mulInPlace(s);
            }
        }
    }

    /**
     * Patch embedding, [cls; patches] and the position embedding: (B, N+1, D), the input of the first
     * block. With a mask (B, N) of 0/1, the embedding of each masked patch is replaced by maskToken
     * (1, 1, D) before [cls] is prepended, as BEiT's x·(1 − m) + e_[M]·m.
     */
    private Tensor embed(Tensor x, Tensor mask, Tensor maskToken) {
        if (x.dim() != 4 || x.size(1) != config.inChans() || x.size(2) != config.imgSize() || x.size(3) != config.imgSize()) {
            throw new IllegalArgumentException("ViT: input " + x.shape() + " is not (B, " + config.inChans() + ", " + config.imgSize()
                    + ", " + config.imgSize() + ")");
        }
        int b = x.size(0), d = config.embedDim();
        Tensor t = patchEmbed.forward(x).flatten(2, 3).transpose(1, 2);             // (B, N, D)
        if (mask != null) {
            if (mask.dim() != 2 || mask.size(0) != b || mask.size(1) != config.numPatches()) {
                throw new IllegalArgumentException("ViT: mask " + mask.shape() + " is not (" + b + ", " + config.numPatches() + ") for " + x.shape());
            }
            Tensor m = mask.to(t.dtype()).unsqueeze(2);                              // (B, N, 1)
            t = t.mul(m.neg().add(1.0)).add(maskToken.mul(m));
        }
        t = Tensor.cat(List.of(clsToken.expand(b, 1, d), t), 1);                      // (B, N+1, D)
        return posEmbed == null ? t : t.add(posEmbed);
    }

    private Tensor sharedBias() {
        return relPos == null ? null : relPos.bias();                                 // (H, N+1, N+1)
    }

    /** timm's forward_features: the tokens (B, N+1, D) after the last block and the final norm (none with mean pooling). */
    public Tensor forwardFeatures(Tensor x) {
        return forwardFeatures(x, null, null);
    }

    /** {@link #forwardFeatures(Tensor)} with the masked patches (mask (B, N) of 0/1) replaced by maskToken (1, 1, D) (BEiT's pre-training). */
    protected final Tensor forwardFeatures(Tensor x, Tensor mask, Tensor maskToken) {
        Tensor t = embed(x, mask, maskToken), bias = sharedBias();
        for (Block blk : blocks) t = blk.forward(t, bias);
        return norm == null ? t : norm.forward(t);
    }

    /**
     * timm's forward_head: pools the tokens of {@link #forwardFeatures} (the cls token, or the mean of
     * the patch tokens then fc_norm) to (B, D) and, unless preLogits or the model has no head,
     * classifies them (B, classes).
     */
    public Tensor forwardHead(Tensor tokens, boolean preLogits) {
        Tensor pooled = config.pool() == Pool.AVG ? fcNorm.forward(tokens.narrow(1, 1, config.numPatches()).mean(1)) : tokens.select(1, 0);
        return preLogits || head == null ? pooled : head.forward(pooled);
    }

    /** Logits (B, classes), or the pooled features (B, D) when the model has no head. */
    @Override
    public Tensor forward(Tensor x) {
        return forwardHead(forwardFeatures(x), false);
    }

    /**
     * timm's forward_intermediates: the token maps after the chosen blocks, in the order asked for
     * (an index i &lt; 0 counts from the end, as Python's). Each is (B, N+1, D), or (B, N, D) without
     * the cls token; {@code norm} applies the final norm to each (when the model has one). No block
     * after the last one asked for is run.
     */
    public List<Tensor> forwardIntermediates(Tensor x, int[] indices, boolean norm, boolean withCls) {
        int depth = config.depth();
        int[] at = new int[indices.length];
        int last = -1;
        for (int k = 0; k < indices.length; k++) {
            int i = indices[k];
            if (i < -depth || i >= depth) {
                throw new IllegalArgumentException("ViT: block index " + i + " is outside -" + depth + ".." + (depth - 1) + " (depth " + depth
                        + "; negative counts from the end)");
            }
            at[k] = i < 0 ? depth + i : i;
            last = Math.max(last, at[k]);
        }
        Tensor[] out = new Tensor[indices.length];
        Tensor t = embed(x, null, null), bias = sharedBias();
        for (int b = 0; b <= last; b++) {
            t = blocks.get(b).forward(t, bias);
            for (int k = 0; k < at.length; k++) {
                if (at[k] != b) continue;
                Tensor tap = norm && this.norm != null ? this.norm.forward(t) : t;
                out[k] = withCls ? tap : tap.narrow(1, 1, config.numPatches());
            }
        }
        return List.of(out);
    }

    /** AdamW's two groups: "decay" with weightDecay and "no_decay" (the parameters {@link #noWeightDecay} names) with none; both at lr. */
    public final List<dev.peco4j.nn.ParamGroup> weightDecayGroups(double lr, double weightDecay) {
        List<Tensor> decay = new java.util.ArrayList<>(), noDecay = new java.util.ArrayList<>();
        namedParameters().forEach((n, p) -> (noWeightDecay(n, p) ? noDecay : decay).add(p));
        return List.of(new dev.peco4j.nn.ParamGroup("decay", decay, lr, weightDecay), new dev.peco4j.nn.ParamGroup("no_decay", noDecay, lr, 0));
    }

    /** Parameters that take no weight decay, as BEiT fine-tuning (timm's Beit): biases, norms, cls token, position embeddings, 1-d tensors, relative position tables. */
    public boolean noWeightDecay(String name, Tensor p) {
        return p.dim() == 1 || name.endsWith(".bias") || name.equals("cls_token") || name.equals("pos_embed")
                || name.endsWith("relative_position_bias_table");
    }

    /** The patch embedding: a P×P stride-P convolution, named patch_embed.proj as in timm. */
    static final class PatchEmbed extends Module {
        final Conv2d proj;

        PatchEmbed(Generator gen, Config c) {
            proj = child("proj", new Conv2d(gen, Conv2d.Config.of(c.inChans(), c.embedDim(), c.patchSize()).stride(c.patchSize())));
        }

        @Override
        public Tensor forward(Tensor x) {
            return proj.forward(x);
        }
    }
}
