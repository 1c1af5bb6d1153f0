package dev.peco4j.peco.pretrain;

import dev.peco4j.tensor.Generator;

/**
 * BEiT's block-wise masking (its masking_generator.py), exactly: blocks of patches are masked one
 * after another until {@code numMasking} patches are masked. Each block is tried up to 10 times: an
 * area uniform in [min, budget] (budget = min(what is left, max per block); when the budget is below
 * the minimum the bounds are reversed, as Python's uniform allows, so late blocks may be smaller), an
 * aspect ratio log-uniform in [minAspect, maxAspect], h = round(√(area·aspect)), w = round(√(area /
 * aspect)) (Python's round: ties to even), a position uniform over the grid when the block fits
 * (h &lt; height and w &lt; width); it is placed when it adds at least one new patch and no more than
 * the budget. When no try of a block adds a patch the mask stops short (rarely: the count is
 * {@code numMasking} in almost every draw, never more).
 *
 * <p>The random draws go through {@link Draws}, Python's {@code random.uniform} and
 * {@code random.randint}, so that a test can replay draws recorded in Python and get the same masks.
 * In training every mask draws from {@code Generator.derive(seed, MASK, epoch, index)}: reproducible
 * from (seed, epoch, index), fresh every epoch.
 *
 * <pre>{@code
 * MaskingGenerator m = new MaskingGenerator(MaskingGenerator.Config.beit(14, 14));   // 75 of 196, blocks of >= 16
 * boolean[] mask = m.mask(Generator.derive(seed, MaskingGenerator.MASK, epoch, i));   // row-major, 196 entries
 * }</pre>
 */
public final class MaskingGenerator {
    /** The stream of {@link Generator#derive} for masks. */
    public static final long MASK = 61;

    /**
     * height × width patch grid; numMasking: patches to mask; minPerBlock / maxPerBlock: area bounds of
     * one block (BEiT: 16 and, unset, numMasking); aspect ratio h/w of a block in [minAspect, maxAspect].
     */
    public record Config(int height, int width, int numMasking, int minPerBlock, int maxPerBlock, double minAspect, double maxAspect) {
        public Config {
            if (height < 1 || width < 1) throw new IllegalArgumentException("mask: grid must be at least 1x1, got " + height + "x" + width);
            if (numMasking < 1 || numMasking > height * width) {
                throw new IllegalArgumentException("mask: " + numMasking + " masked patches do not fit a " + height + "x" + width + " grid of "
                        + height * width + " patches (need 1.." + height * width + ")");
            }
            if (minPerBlock < 1 || maxPerBlock < 1) {
                throw new IllegalArgumentException("mask: need at least 1 patch per block, got min " + minPerBlock + ", max " + maxPerBlock);
            }
            if (!(minAspect > 0 && minAspect <= maxAspect && Double.isFinite(maxAspect))) {
                throw new IllegalArgumentException("mask: need 0 < min aspect " + minAspect + " <= max aspect " + maxAspect);
            }
            if (height == 1 || width == 1) {
                throw new IllegalArgumentException("mask: a block must be smaller than the grid in both directions (BEiT's rule), so a "
                        + height + "x" + width + " grid can hold none");
            }
        }

        /** BEiT's 75 of 196 patches and blocks of at least 16, scaled to another grid: round(N·75/196) and max(1, round(N·16/196)); aspect 0.3..1/0.3. */
        public static Config beit(int height, int width) {
            int n = height * width;
            return new Config(height, width, (int) Math.round(n * 75.0 / 196), Math.max(1, (int) Math.round(n * 16.0 / 196)),
                    (int) Math.round(n * 75.0 / 196), 0.3, 1 / 0.3);
        }

        public Config withNumMasking(int m) {
            return new Config(height, width, m, minPerBlock, maxPerBlock == numMasking ? m : maxPerBlock, minAspect, maxAspect);
        }

        public Config withMinPerBlock(int m) {
            return new Config(height, width, numMasking, m, maxPerBlock, minAspect, maxAspect);
        }

        public int numPatches() {
            return height * width;
        }
    }

    /** Python's random.uniform(a, b) = a + (b − a)·random() and random.randint(a, b) (both ends included). */
    public interface Draws {
        double uniform(double a, double b);

        int randint(int a, int b);

        static Draws of(Generator g) {
            return new Draws() {
                @Override
                public double uniform(double a, double b) {
                    return a + (b - a) * g.nextDouble();
                }

                @Override
                public int randint(int a, int b) {
                    return a + g.nextInt(b - a + 1);
                }
            };
        }
    }

    public final Config config;
    private final double logMinAspect, logMaxAspect;

    public MaskingGenerator(Config config) {
        this.config = config;
        this.logMinAspect = Math.log(config.minAspect());
        this.logMaxAspect = Math.log(config.maxAspect());
    }

    /** A mask (row-major, height·width entries) drawn from g. */
    public boolean[] mask(Generator g) {
        return mask(Draws.of(g));
    }

    public boolean[] mask(Draws d) {
        boolean[] mask = new boolean[config.numPatches()];
        int count = 0;
        while (count < config.numMasking()) {
            int budget = Math.min(config.numMasking() - count, config.maxPerBlock());
            int delta = block(mask, budget, d);
            if (delta == 0) break;
            count += delta;
        }
        return mask;
    }

    /** One block: up to 10 tries; the number of patches it newly masks. */
    private int block(boolean[] mask, int budget, Draws d) {
        int height = config.height(), width = config.width(), delta = 0;
        for (int attempt = 0; attempt < 10 && delta == 0; attempt++) {
            double area = d.uniform(config.minPerBlock(), budget);
            double aspect = Math.exp(d.uniform(logMinAspect, logMaxAspect));
            int h = (int) Math.rint(Math.sqrt(area * aspect)), w = (int) Math.rint(Math.sqrt(area / aspect));
            if (w >= width || h >= height) continue;
            int top = d.randint(0, height - h), left = d.randint(0, width - w);
            int already = 0;
            for (int i = top; i < top + h; i++) for (int j = left; j < left + w; j++) if (mask[i * width + j]) already++;
            int fresh = h * w - already;
            if (fresh > 0 && fresh <= budget) {
                for (int i = top; i < top + h; i++) {
                    for (int j = left; j < left + w; j++) {
                        if (!mask[i * width + j]) {
                            mask[i * width + j] = true;
                            delta++;
                        }
                    }
                }
            }
        }
        return delta;
    }

    @Override
    public String toString() {
        Config c = config;
        return String.format("block-wise masking %d of %dx%d patches, blocks of %d..%d, aspect %.3g..%.3g", c.numMasking(), c.height(), c.width(),
                c.minPerBlock(), c.maxPerBlock(), c.minAspect(), c.maxAspect());
    }
}
