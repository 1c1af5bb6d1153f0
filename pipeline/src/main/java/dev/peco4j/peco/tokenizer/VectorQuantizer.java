package dev.peco4j.peco.tokenizer;

import dev.peco4j.nn.Embedding;
import dev.peco4j.nn.Init;
import dev.peco4j.nn.Linear;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.Stochastic;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Tensor;

/**
 * The codebook of a VQ-VAE, as taming's {@code VectorQuantizer2}: each position's vector z (D
 * channels) is replaced by its nearest code e_k, k = argmin ‖z‖² + ‖e_k‖² − 2 z·e_k (ties: the lowest
 * k), and the gradient passes straight through (z + sg[e_k − z]). Letters: B batch, D code width,
 * h×w the code grid, K codes, N = B·h·w vectors.
 *
 * <p>The loss has two named forms ({@link LossForm}): the VQ-VAE paper's β·‖sg[e] − z‖² + ‖e −
 * sg[z]‖² (β on the commitment term, the default) and taming's legacy ‖sg[e] − z‖² + β·‖e −
 * sg[z]‖² (β on the codebook term), which released taming checkpoints were trained with. Means are
 * over all N·D elements. The codebook starts uniform in (−1/K, 1/K), as taming's.
 *
 * <p>{@link Options} adds what keeps a codebook in use on small data (all off in taming's
 * quantizer; each adds its buffers to the state dict only when on):
 * <ul>
 *   <li>{@code lookupDim} d &gt; 0: z is projected to d dimensions ({@code project_in}), looked up in
 *       a (K, d) codebook and projected back ({@code project_out}), as ViT-VQGAN's factorized codes and
 *       vector-quantize-pytorch's codebook_dim;</li>
 *   <li>{@code cosine}: z and the codes are ℓ2-normalized before the lookup (ViT-VQGAN, BEiT v2);</li>
 *   <li>{@code emaDecay} &gt; 0: the codebook is not trained by gradient but moved to the running
 *       mean of the vectors assigned to each code (taming's EMAVectorQuantizer: cluster sizes with
 *       Laplace smoothing {@code emaEps}); the loss is then the commitment term alone, β·‖sg[e] − z‖²;</li>
 *   <li>{@code kmeansIters} &gt; 0: on the first training batch the codebook is set by k-means over
 *       its vectors (vector-quantize-pytorch's kmeans_init; with fewer vectors than codes, means
 *       start from repeated vectors and the repeats stay unused until a restart re-seeds them);</li>
 *   <li>{@code deadAfter} &gt; 0: a code unused for that many training steps is re-seeded with a
 *       random vector of the current batch.</li>
 * </ul>
 * The random draws of k-means and restarts come from the generator the trainer hands over each step
 * ({@link Stochastic}), so a resumed run draws the same.
 */
public final class VectorQuantizer extends Module implements Stochastic {
    /** Which term β weighs. */
    public enum LossForm {
        /** β on the commitment term (van den Oord et al.; taming's legacy=False). */
        PAPER,
        /** β on the codebook term (taming's default legacy=True). */
        LEGACY
    }

    /** The codebook options (see the class comment); {@link #TAMING} has them all off. */
    public record Options(int lookupDim, boolean cosine, double emaDecay, double emaEps, int kmeansIters, int deadAfter) {
        public static final Options TAMING = new Options(0, false, 0, 1e-5, 0, 0);

        public Options {
            if (lookupDim < 0 || !(emaDecay >= 0 && emaDecay < 1) || !(emaEps > 0) || kmeansIters < 0 || deadAfter < 0) {
                throw new IllegalArgumentException("VectorQuantizer options: need lookup_dim >= 0, ema_decay in [0, 1), ema_eps > 0, "
                        + "kmeans_iters >= 0, dead_after >= 0; got " + this);
            }
        }

        public boolean ema() {
            return emaDecay > 0;
        }
    }

    /** What quantization returns: the straight-through codes (B, D, h, w), the VQ loss (a scalar) and the indices (B, h, w) int. */
    public record Result(Tensor quantized, Tensor loss, Tensor indices) {}

    public final int codes, dim;
    public final double beta;
    public final LossForm form;
    public final Options options;
    final Embedding embedding;
    final Linear projectIn, projectOut;
    private final Tensor clusterSize, embedAvg, initted, unused;
    private Generator gen = new Generator(0);

    public VectorQuantizer(Generator gen, int codes, int dim, double beta, LossForm form) {
        this(gen, codes, dim, beta, form, Options.TAMING);
    }

    public VectorQuantizer(Generator gen, int codes, int dim, double beta, LossForm form, Options options) {
        if (codes < 1 || dim < 1 || !(beta >= 0)) {
            throw new IllegalArgumentException("VectorQuantizer: need codes >= 1, dim >= 1, beta >= 0; got " + codes + ", " + dim + ", " + beta);
        }
        this.codes = codes;
        this.dim = dim;
        this.beta = beta;
        this.form = form;
        this.options = options;
        int d = options.lookupDim() > 0 ? options.lookupDim() : dim;
        embedding = child("embedding", new Embedding(gen, codes, d));
        try (var ignored = Autograd.noGrad()) {
            Init.uniform(embedding.weight, gen, -1.0 / codes, 1.0 / codes);
        }
        projectIn = options.lookupDim() > 0 ? child("project_in", new Linear(gen, dim, d)) : null;
        projectOut = options.lookupDim() > 0 ? child("project_out", new Linear(gen, d, dim)) : null;
        if (options.ema()) embedding.weight.requiresGrad(false);
        clusterSize = options.ema() ? buffer("cluster_size", Tensor.zeros(DType.FLOAT32, codes), true) : null;
        embedAvg = options.ema() ? buffer("embed_avg", embedding.weight.detach().contiguous().mul(1.0), true) : null;
        initted = options.kmeansIters() > 0 ? buffer("initted", Tensor.zeros(DType.FLOAT32, 1), true) : null;
        unused = options.deadAfter() > 0 ? buffer("unused_steps", Tensor.zeros(DType.FLOAT32, codes), true) : null;
    }

    @Override
    public void generator(Generator g) {
        this.gen = g;
    }

    /** The codebook (K, d) as trained or moved (before any ℓ2 normalization). */
    public Tensor codebook() {
        return embedding.weight;
    }

    /** The codes as the lookup sees them: ℓ2-normalized under {@code cosine}. */
    private Tensor lookupCodes() {
        return options.cosine() ? l2(codebook()) : codebook();
    }

    private static Tensor l2(Tensor x) {
        return x.div(x.norm(2, new int[] {x.dim() - 1}, true).clamp(1e-12, Double.MAX_VALUE));
    }

    /** The nearest code of each row of z (N, d) in the lookup space: indices (N) int, ties to the lowest index. */
    public Tensor nearest(Tensor z) {
        try (var ignored = Autograd.noGrad()) {
            return Functional.nearestRows(z, lookupCodes());
        }
    }

    /** Quantizes z (B, D, h, w); in training also runs the codebook's own updates (k-means, EMA, restarts). */
    public Result quantize(Tensor z) {
        if (z.dim() != 4 || z.size(1) != dim) {
            throw new IllegalArgumentException("VectorQuantizer: expected z of shape (B, " + dim + ", h, w), got " + z.shape());
        }
        int b = z.size(0), h = z.size(2), w = z.size(3);
        Tensor zl = z.permute(0, 2, 3, 1);                                                       // (B, h, w, D)
        if (projectIn != null) zl = projectIn.forward(zl);
        if (options.cosine()) zl = l2(zl);
        int d = zl.size(3);
        Tensor flat = zl.reshape(-1, d);
        if (isTraining() && initted != null && initted.item() == 0) kmeansInit(flat.detach());
        Tensor idx = nearest(flat.detach());
        Tensor zq = null;
        if (options.ema()) zq = lookupRows(idx).detach().contiguous();          // EMA: the codes as they were before this step's move
        if (isTraining()) updateCodebook(flat.detach(), idx);                    // (restarts touch only codes no row picked)
        if (zq == null) zq = lookupRows(idx);
        zq = zq.reshape(b, h, w, d);
        Tensor commit = zq.detach().sub(zl).square().mean();
        Tensor loss;
        if (options.ema()) loss = commit.mul(beta);
        else {
            Tensor book = zq.sub(zl.detach()).square().mean();
            loss = form == LossForm.PAPER ? commit.mul(beta).add(book) : commit.add(book.mul(beta));
        }
        Tensor st = zl.add(zq.sub(zl).detach());                                                  // straight-through
        if (projectOut != null) st = projectOut.forward(st);
        return new Result(st.permute(0, 3, 1, 2), loss, idx.reshape(b, h, w));
    }

    private Tensor lookupRows(Tensor idx) {
        return options.cosine() ? l2(embedding.forward(idx)) : embedding.forward(idx);
    }

    /** The codes of indices (B, h, w) as a map (B, D, h, w) (projected back under lookupDim). */
    public Tensor lookup(Tensor indices) {
        Tensor e = embedding.forward(indices);
        if (options.cosine()) e = l2(e);
        if (projectOut != null) e = projectOut.forward(e);
        return e.permute(0, 3, 1, 2);
    }

    /** The straight-through quantized map (see {@link #quantize}). */
    @Override
    public Tensor forward(Tensor z) {
        return quantize(z).quantized();
    }

    /** Per-code counts of indices (any shape, values in [0, K)). */
    public int[] counts(Tensor indices) {
        int[] c = new int[codes];
        for (int i : indices.toIntArray()) c[i]++;
        return c;
    }

    private void kmeansInit(Tensor x) {
        try (var ignored = Autograd.noGrad()) {
            Tensor[] mb = kmeans(x, codes, options.kmeansIters(), options.cosine(), gen);
            codebook().copyFrom(mb[0]);
            if (options.ema()) {                                   // vector-quantize-pytorch: the running sum is mean × count
                embedAvg.copyFrom(mb[0].mul(mb[1].unsqueeze(1)));
                clusterSize.copyFrom(mb[1]);
            }
            initted.fill(1);
        }
    }

    /**
     * k-means of the rows of x (N, d) into k means, as vector-quantize-pytorch's kmeans: means start at
     * k distinct random rows (with repetition when N &lt; k), a mean with no members keeps its place.
     * Returns {means (k, d), member counts (k)}.
     */
    static Tensor[] kmeans(Tensor x, int k, int iters, boolean cosine, Generator gen) {
        Tensor means = sampleRows(x, k, gen);
        Device d = x.device();
        Tensor bins = Tensor.zeros(x.dtype(), k).to(d);
        for (int it = 0; it < iters; it++) {
            Tensor idx = Functional.nearestRows(x, means);
            int[] count = new int[k];
            for (int i : idx.toIntArray()) count[i]++;
            Tensor sums = Tensor.zeros(x.dtype(), k, x.size(1)).to(d).indexAdd(0, idx, x);
            double[] keep = new double[k], div = new double[k], cnt = new double[k];
            for (int c = 0; c < k; c++) {
                keep[c] = count[c] == 0 ? 1 : 0;
                div[c] = Math.max(count[c], 1);
                cnt[c] = count[c];
            }
            Tensor fresh = sums.div(Tensor.of(div, k, 1).to(x.dtype()).to(d));
            if (cosine) fresh = l2(fresh);
            Tensor keepMask = Tensor.of(keep, k, 1).to(x.dtype()).to(d);
            means = means.mul(keepMask).add(fresh.mul(keepMask.neg().add(1.0)));
            bins = Tensor.of(cnt, k).to(x.dtype()).to(d);
        }
        return new Tensor[] {means.contiguous(), bins};
    }

    /** k rows of x: a random permutation's first k when N ≥ k, else k draws with replacement. */
    static Tensor sampleRows(Tensor x, int k, Generator gen) {
        int n = x.size(0);
        int[] pick = new int[k];
        if (n >= k) {
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            for (int i = 0; i < k; i++) {
                int j = i + gen.nextInt(n - i), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                pick[i] = perm[i];
            }
        } else {
            for (int i = 0; i < k; i++) pick[i] = gen.nextInt(n);
        }
        return x.indexSelect(0, Tensor.ofInts(pick, k).to(x.device())).contiguous();
    }

    /** One training step's EMA move and dead-code restarts (no gradient). */
    private void updateCodebook(Tensor x, Tensor idx) {
        if (!options.ema() && unused == null) return;
        try (var ignored = Autograd.noGrad()) {
            int[] count = counts(idx);
            if (options.ema()) {
                double m = options.emaDecay();
                double[] c = new double[codes];
                for (int i = 0; i < codes; i++) c[i] = count[i];
                Tensor sums = Tensor.zeros(x.dtype(), codes, x.size(1)).to(x.device()).indexAdd(0, idx, x);
                clusterSize.mulInPlace(m).addInPlace(Tensor.of(c, codes).to(clusterSize.dtype()).to(x.device()), 1 - m);
                embedAvg.mulInPlace(m).addInPlace(sums.to(embedAvg.dtype()), 1 - m);
                double n = clusterSize.sum().item(), eps = options.emaEps();
                Tensor smoothed = clusterSize.add(eps).div(n + codes * eps).mul(n);                   // Laplace smoothing
                codebook().copyFrom(embedAvg.div(smoothed.unsqueeze(1)));
            }
            if (unused != null) {
                float[] age = unused.toFloatArray();
                java.util.List<Integer> dead = new java.util.ArrayList<>();
                for (int i = 0; i < codes; i++) {
                    age[i] = count[i] > 0 ? 0 : age[i] + 1;
                    if (age[i] >= options.deadAfter()) {
                        dead.add(i);
                        age[i] = 0;
                    }
                }
                unused.copyFrom(Tensor.of(age, codes));
                if (!dead.isEmpty()) restart(x, dead);
            }
        }
    }

    private void restart(Tensor x, java.util.List<Integer> dead) {
        int[] at = dead.stream().mapToInt(Integer::intValue).toArray();
        Tensor fresh = sampleRows(x, at.length, gen).to(codebook().dtype());
        Device d = codebook().device();
        Tensor where = Tensor.ofInts(at, at.length).to(d);
        Tensor mask = Tensor.zeros(codebook().dtype(), codes, 1).to(d).indexAdd(0, where, Tensor.ones(codebook().dtype(), at.length, 1).to(d));
        Tensor placed = Tensor.zeros(codebook().dtype(), codes, codebook().size(1)).to(d).indexAdd(0, where, fresh);
        Tensor keep = mask.neg().add(1.0);
        codebook().copyFrom(codebook().mul(keep).add(placed));
        if (options.ema()) {
            embedAvg.copyFrom(embedAvg.mul(keep).add(placed));
            clusterSize.copyFrom(clusterSize.mul(keep.squeeze(1)).add(mask.squeeze(1)));
        }
    }

    @Override
    protected String extraRepr() {
        return codes + ", " + dim + ", beta=" + beta + ", " + form + (options.equals(Options.TAMING) ? "" : ", " + options);
    }
}
