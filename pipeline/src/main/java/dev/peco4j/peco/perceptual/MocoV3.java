package dev.peco4j.peco.perceptual;

import dev.peco4j.nn.BatchNorm1d;
import dev.peco4j.nn.Init;
import dev.peco4j.nn.Linear;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Sequential;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * MoCo v3 for a ViT, as facebookresearch/moco-v3 builds it ({@code moco/builder.py} MoCo_ViT,
 * {@code vits.py}): a base encoder (the ViT, its cls token after the final norm) with a projector
 * (3-layer MLP: Linear without bias, BatchNorm1d, ReLU; the last BatchNorm without affine), a
 * predictor (2-layer MLP, no last BatchNorm), and a momentum encoder + projector that follow the
 * base's parameters as a moving average. Letters: B batch, D ViT width, d output dim.
 *
 * <p>The loss of two views x₁, x₂ is ctr(q₁, k₂) + ctr(q₂, k₁), where q = predictor(projector(
 * encoder(x))), k = the momentum branch's output, and ctr(q, k) = 2τ · CE(q̂·k̂ᵀ / τ, arange(B)) over
 * L2-normalized rows. Before the keys are computed, the momentum branch moves towards the base:
 * θ_m ← m·θ_m + (1 − m)·θ_b, with m rising from 0.99 to 1 on a half cosine ({@link #momentum}).
 *
 * <p>Names: base_encoder, base_head (MoCo's base_encoder.head), momentum_encoder, momentum_head,
 * predictor. The ViT is initialized as vits.py does (xavier-uniform linear layers, qkv's per third,
 * the patch projection xavier-uniform over its fan, cls token N(0, 1e-6)); stopGradConv1 freezes the
 * random patch projection, MoCo v3's stability trick.
 *
 * <pre>{@code
 * MocoV3 moco = new MocoV3(gen, new MocoV3.Config(VisionTransformer.Config.mocoV3(32, 4, 192, 6, 3).withInChans(1), 256, 1024, 0.2, true));
 * Tensor loss = moco.forward(view1, view2, MocoV3.momentum(step, total, 0.99));
 * }</pre>
 */
public final class MocoV3 extends Module {
    /** dim: output d of projector and predictor; mlpDim: their hidden width; temperature τ (0.2 for ViTs). */
    public record Config(VisionTransformer.Config encoder, int dim, int mlpDim, double temperature, boolean stopGradConv1) {
        public Config {
            if (encoder.numClasses() != 0) throw new IllegalArgumentException("MoCo v3: the encoder has no classifier head, got " + encoder.numClasses() + " classes");
            if (dim < 1 || mlpDim < 1 || !(temperature > 0)) {
                throw new IllegalArgumentException("MoCo v3: need dim, mlp dim >= 1 and temperature > 0, got " + dim + ", " + mlpDim + ", " + temperature);
            }
        }
    }

    public final Config config;
    public final VisionTransformer baseEncoder, momentumEncoder;
    public final Sequential baseHead, momentumHead, predictor;

    public MocoV3(Generator gen, Config c) {
        this.config = c;
        int width = c.encoder().embedDim();
        baseEncoder = child("base_encoder", new VisionTransformer(gen, c.encoder()));
        initLikeVits(baseEncoder, gen, c.stopGradConv1());
        baseHead = child("base_head", mlp(gen, 3, width, c.mlpDim(), c.dim(), true));
        momentumEncoder = child("momentum_encoder", new VisionTransformer(gen, c.encoder()));
        momentumHead = child("momentum_head", mlp(gen, 3, width, c.mlpDim(), c.dim(), true));
        predictor = child("predictor", mlp(gen, 2, c.dim(), c.mlpDim(), c.dim(), false));
        try (var ignored = Autograd.noGrad()) {
            copy(baseEncoder, momentumEncoder);
            copy(baseHead, momentumHead);
        }
        momentumEncoder.requiresGrad(false);
        momentumHead.requiresGrad(false);
    }

    /** moco-v3's _build_mlp: Linear (no bias) → BN → ReLU per hidden layer; the last Linear, then BN without affine if lastBn. */
    static Sequential mlp(Generator gen, int layers, int in, int hidden, int out, boolean lastBn) {
        Sequential s = new Sequential();
        for (int l = 0; l < layers; l++) {
            int d1 = l == 0 ? in : hidden, d2 = l == layers - 1 ? out : hidden;
            Linear lin = new Linear(gen, d1, d2, false);
            s.add(lin);
            if (l < layers - 1) {
                s.add(new BatchNorm1d(d2));
                s.add(new Relu());
            } else if (lastBn) {
                s.add(new BatchNorm1d(d2, 1e-5, 0.1, false, true));
            }
        }
        return s;
    }

    /** ReLU as a module, so the MLP keeps nn.Sequential's indices (0 Linear, 1 BN, 2 ReLU, 3 Linear, ...). */
    static final class Relu extends Module {
        @Override
        public Tensor forward(Tensor x) {
            return x.relu();
        }
    }

    /** vits.py's initialization of VisionTransformerMoCo. */
    static void initLikeVits(VisionTransformer vit, Generator gen, boolean stopGradConv1) {
        try (var ignored = Autograd.noGrad()) {
            for (var e : vit.namedModules().entrySet()) {
                if (!(e.getValue() instanceof Linear l)) continue;
                if (e.getKey().endsWith("qkv")) {                       // each of q, k, v as its own fan
                    double val = Math.sqrt(6.0 / (l.weight.size(0) / 3 + l.weight.size(1)));
                    Init.uniform(l.weight, gen, -val, val);
                } else {
                    Init.xavierUniform(l.weight, gen, 1.0);
                }
                if (l.bias != null) Init.zeros(l.bias);
            }
            Init.normal(vit.clsToken, gen, 0, 1e-6);
            int p = vit.config.patchSize();
            double val = Math.sqrt(6.0 / (vit.config.inChans() * p * p + vit.config.embedDim()));
            Init.uniform(vit.patchEmbed.weight, gen, -val, val);
            Init.zeros(vit.patchEmbed.bias);
        }
        if (stopGradConv1) {
            vit.patchEmbed.weight.requiresGrad(false);
            vit.patchEmbed.bias.requiresGrad(false);
        }
    }

    private static void copy(Module from, Module to) {
        Map<String, Tensor> src = from.namedParameters();
        to.namedParameters().forEach((n, t) -> t.copyFrom(src.get(n)));
    }

    /** The momentum of step t of T: 1 − ½(1 + cos(π t / T))(1 − base), moco-v3's adjust_moco_momentum. */
    public static double momentum(long step, long total, double base) {
        return 1 - 0.5 * (1 + Math.cos(Math.PI * step / total)) * (1 - base);
    }

    /** θ_m ← m·θ_m + (1 − m)·θ_b for the encoder's and the projector's parameters (buffers keep their own statistics). */
    public void updateMomentumEncoder(double m) {
        try (var ignored = Autograd.noGrad()) {
            ema(baseEncoder, momentumEncoder, m);
            ema(baseHead, momentumHead, m);
        }
    }

    private static void ema(Module base, Module momentum, double m) {
        Map<String, Tensor> b = base.namedParameters();
        momentum.namedParameters().forEach((n, t) -> t.mulInPlace(m).addInPlace(b.get(n).detach(), 1 - m));
    }

    /** The encoder's representation (B, D): the cls token after the final norm. */
    public static Tensor represent(VisionTransformer vit, Tensor x) {
        return vit.forwardHead(vit.forwardFeatures(x), true);
    }

    /** The symmetric contrastive loss of two views (B, C, H, W), after moving the momentum branch with momentum m. */
    public Tensor forward(Tensor x1, Tensor x2, double m) {
        Tensor q1 = predictor.forward(baseHead.forward(represent(baseEncoder, x1)));          // (B, d)
        Tensor q2 = predictor.forward(baseHead.forward(represent(baseEncoder, x2)));
        Tensor k1, k2;
        try (var ignored = Autograd.noGrad()) {
            updateMomentumEncoder(m);
            k1 = momentumHead.forward(represent(momentumEncoder, x1));
            k2 = momentumHead.forward(represent(momentumEncoder, x2));
        }
        return contrastiveLoss(q1, k2, config.temperature()).add(contrastiveLoss(q2, k1, config.temperature()));
    }

    @Override
    public Tensor forward(Tensor x) {
        return represent(baseEncoder, x);
    }

    /** 2τ · CE(q̂·k̂ᵀ / τ, arange(B)) with rows L2-normalized (F.normalize, eps 1e-12). */
    static Tensor contrastiveLoss(Tensor q, Tensor k, double t) {
        Tensor qn = normalize(q), kn = normalize(k);
        Tensor logits = qn.matmul(kn.mT()).div(t);                                            // (B, B)
        int b = q.size(0);
        int[] labels = new int[b];
        for (int i = 0; i < b; i++) labels[i] = i;
        return Functional.crossEntropy(logits, Tensor.ofInts(labels, b).to(logits.device()), 0).mul(2 * t);
    }

    static Tensor normalize(Tensor x) {
        return x.div(x.norm(2, new int[] {1}, true).clamp(1e-12, Double.MAX_VALUE));
    }

    /** The parameters the optimizer trains: the base encoder's (but a frozen patch projection), its projector's and the predictor's. */
    public List<Tensor> trainable() {
        List<Tensor> out = new ArrayList<>();
        for (Module m : List.of(baseEncoder, baseHead, predictor)) for (Tensor p : m.parameters()) if (p.requiresGrad()) out.add(p);
        return out;
    }
}
