package dev.peco4j.peco.model;

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
import java.util.List;

/**
 * A Vision Transformer built from BEiT blocks, with timm/BEiT parameter names (patch_embed.proj,
 * cls_token, pos_embed, blocks.i.*, norm or fc_norm, head). Letters: B batch, C input channels,
 * P patch size, N = (img/P)² patches, D embedding width.
 *
 * <p>image (B, C, H, W) → conv P×P stride P → (B, N, D) → [cls; patches] + pos_embed → blocks →
 * pool (mean of the patch tokens then fc_norm, or norm then the cls token) → head (B, classes).
 * Initialization is BEiT's: trunc_normal(0.02) for linear weights and embeddings, zero biases, and
 * the residual projections (attn.proj, mlp.fc2) of block i scaled by 1/√(2(i+1)).
 */
public final class VisionTransformer extends Module {
    /**
     * absPos: learned absolute position embedding; relPos: one relative position bias shared by all
     * blocks (BEiT's use_shared_rel_pos_bias); meanPool: mean-pool the patch tokens (BEiT fine-tuning)
     * instead of taking the cls token.
     */
    public record Config(int imgSize, int patchSize, int inChans, int numClasses, int embedDim, int depth, int heads, double mlpRatio,
                         double dropPath, double layerScaleInit, boolean absPos, boolean relPos, boolean meanPool) {
        public Config {
            if (imgSize < 1 || patchSize < 1 || imgSize % patchSize != 0) {
                throw new IllegalArgumentException("ViT: image size " + imgSize + " is not a multiple of patch size " + patchSize);
            }
            if (inChans < 1 || numClasses < 0 || depth < 1 || heads < 1 || embedDim % heads != 0) {
                throw new IllegalArgumentException("ViT: need channels >= 1, classes >= 0, depth >= 1 and width " + embedDim
                        + " divisible by " + heads + " heads");
            }
            if (!(dropPath >= 0 && dropPath < 1)) throw new IllegalArgumentException("ViT: drop path rate must be in [0, 1), got " + dropPath);
        }

        public int gridSize() {
            return imgSize / patchSize;
        }

        public int numPatches() {
            return gridSize() * gridSize();
        }

        /** The small ViT for 28×28 images padded to 32: patch 4 (64 tokens), depth 6. */
        public static Config small32(int inChans, int numClasses, int width, int heads) {
            return new Config(32, 4, inChans, numClasses, width, 6, heads, 2.0, 0.1, 0, true, false, true);
        }

        /** ViT-B/16 as BEiT fine-tunes it (relative position bias per block is left to later layers). */
        public static Config base(int imgSize, int numClasses) {
            return new Config(imgSize, 16, 3, numClasses, 768, 12, 12, 4.0, 0.1, 0.1, false, true, true);
        }

        public static Config large(int imgSize, int numClasses) {
            return new Config(imgSize, 16, 3, numClasses, 1024, 24, 16, 4.0, 0.2, 1e-5, false, true, true);
        }

        public static Config huge(int imgSize, int numClasses) {
            return new Config(imgSize, 14, 3, numClasses, 1280, 32, 16, 4.0, 0.3, 1e-5, false, true, true);
        }
    }

    public final Config config;
    public final Conv2d patchEmbed;
    public final Tensor clsToken, posEmbed;
    public final RelativePositionBias relPos;
    public final ModuleList<Block> blocks;
    public final LayerNorm norm, fcNorm;
    public final Linear head;

    public VisionTransformer(Generator gen, Config c) {
        this.config = c;
        this.clsToken = parameter("cls_token", Tensor.zeros(DType.FLOAT32, 1, 1, c.embedDim()));
        this.posEmbed = c.absPos() ? parameter("pos_embed", Tensor.zeros(DType.FLOAT32, 1, c.numPatches() + 1, c.embedDim())) : null;
        this.patchEmbed = child("patch_embed", new PatchEmbed(gen, c)).proj;
        this.relPos = c.relPos() ? child("rel_pos_bias", new RelativePositionBias(c.gridSize(), c.gridSize(), c.heads())) : null;
        this.blocks = child("blocks", new ModuleList<>());
        for (int i = 0; i < c.depth(); i++) {
            double dpr = c.depth() == 1 ? 0 : c.dropPath() * i / (c.depth() - 1); // linear decay rule, as timm/BEiT
            blocks.add(new Block(gen, new Block.Config(c.embedDim(), c.heads(), c.mlpRatio(), true, 0, 0, dpr, c.layerScaleInit(), 0, 0, 1e-6)));
        }
        this.norm = c.meanPool() ? null : child("norm", new LayerNorm(c.embedDim(), 1e-6));
        this.fcNorm = c.meanPool() ? child("fc_norm", new LayerNorm(c.embedDim(), 1e-6)) : null;
        this.head = c.numClasses() > 0 ? child("head", new Linear(gen, c.embedDim(), c.numClasses())) : null;
        initWeights(gen);
    }

    private void initWeights(Generator gen) {
        Init.beitTruncNormal(clsToken, gen, 0.02);
        if (posEmbed != null) Init.beitTruncNormal(posEmbed, gen, 0.02);
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

    /** Tokens after the last block: (B, N+1, D), the cls token first. */
    public Tensor forwardTokens(Tensor x) {
        if (x.dim() != 4 || x.size(1) != config.inChans() || x.size(2) != config.imgSize() || x.size(3) != config.imgSize()) {
            throw new IllegalArgumentException("ViT: input " + x.shape() + " is not (B, " + config.inChans() + ", " + config.imgSize()
                    + ", " + config.imgSize() + ")");
        }
        int b = x.size(0), d = config.embedDim();
        Tensor t = patchEmbed.forward(x).flatten(2, 3).transpose(1, 2);             // (B, N, D)
        t = Tensor.cat(List.of(clsToken.expand(b, 1, d), t), 1);                      // (B, N+1, D)
        if (posEmbed != null) t = t.add(posEmbed);
        Tensor bias = relPos == null ? null : relPos.bias();                          // (H, N+1, N+1)
        for (Block blk : blocks) t = blk.forward(t, bias);
        return t;
    }

    /** The pooled representation (B, D) that the head sees. */
    public Tensor forwardFeatures(Tensor x) {
        Tensor t = forwardTokens(x);
        if (config.meanPool()) return fcNorm.forward(t.narrow(1, 1, config.numPatches()).mean(1));
        return norm.forward(t).select(1, 0);
    }

    /** Logits (B, classes). */
    @Override
    public Tensor forward(Tensor x) {
        Tensor f = forwardFeatures(x);
        return head == null ? f : head.forward(f);
    }

    /** Parameters that take no weight decay, as BEiT: biases, norms, cls token, position embeddings, 1-d tensors. */
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
