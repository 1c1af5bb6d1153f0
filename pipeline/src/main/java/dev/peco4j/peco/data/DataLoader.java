package dev.peco4j.peco.data;

import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Batches of a dataset, as torch.utils.data.DataLoader: seeded shuffling, per-sample augmentation
 * and prefetching on background threads, so the trainer does not wait on decoding.
 *
 * <p>Everything random is a pure function of (seed, epoch, position): the order of epoch e is a
 * Fisher–Yates shuffle drawn from {@code Generator.derive(seed, SHUFFLE, e)}, and sample i's
 * augmentation draws from {@code Generator.derive(seed, AUGMENT, e, i)}. So batches are the same for
 * any number of workers, and {@link #epoch(int, int)} can start in the middle of an epoch (resume).
 *
 * <pre>{@code
 * try (DataLoader loader = new DataLoader(train, augment, seed, DataLoader.Config.train(128));
 *      DataLoader.Epoch it = loader.epoch(epoch, 0)) {
 *     while (it.hasNext()) { DataLoader.Batch b = it.next(); ... b.images() (B, C, H, W), b.labels() (B) ... }
 * }
 * }</pre>
 */
public final class DataLoader implements AutoCloseable {
    public static final long SHUFFLE = 1, AUGMENT = 2;

    public enum OnError { FAIL, SKIP }

    /**
     * workers: background threads building batches; prefetch: batches built ahead of the consumer;
     * sharedDraws: every view of a sample draws the same random numbers (views of one random crop at
     * two sizes, as BEiT's); otherwise each view draws its own.
     */
    public record Config(int batchSize, boolean shuffle, boolean dropLast, int workers, int prefetch, OnError onError, boolean sharedDraws) {
        public Config {
            if (batchSize < 1 || workers < 0 || prefetch < 1) {
                throw new IllegalArgumentException("DataLoader: need batch size >= 1, workers >= 0, prefetch >= 1; got "
                        + batchSize + ", " + workers + ", " + prefetch);
            }
        }

        public static Config train(int batchSize) {
            return new Config(batchSize, true, true, 1, 4, OnError.FAIL, false);
        }

        public static Config eval(int batchSize) {
            return new Config(batchSize, false, false, 1, 4, OnError.FAIL, false);
        }

        public Config onError(OnError e) {
            return new Config(batchSize, shuffle, dropLast, workers, prefetch, e, sharedDraws);
        }

        public Config workers(int n) {
            return new Config(batchSize, shuffle, dropLast, n, prefetch, onError, sharedDraws);
        }

        public Config sharedDraws(boolean on) {
            return new Config(batchSize, shuffle, dropLast, workers, prefetch, onError, on);
        }
    }

    /**
     * views: one (B, C, H, W) float32 tensor per view of the samples (one, or two for MoCo v3); labels
     * (B) int32; positions: each sample's position in the epoch's order (what its augmentation draws
     * are derived from); skipped: corrupt samples left out of this batch.
     */
    public record Batch(int epoch, int index, List<Tensor> views, Tensor labels, int[] positions, int skipped) {
        /** The first (usually only) view. */
        public Tensor images() {
            return views.get(0);
        }

        public int size() {
            return labels.size(0);
        }
    }

    private final Dataset dataset;
    private final List<Transform> views;
    private final long seed;
    private final Config config;
    private final ExecutorService pool;
    private final AtomicInteger skippedTotal = new AtomicInteger();

    public DataLoader(Dataset dataset, Transform transform, long seed, Config config) {
        this(dataset, List.of(transform), seed, config);
    }

    /**
     * One view per transform: sample i of epoch e in view v draws from {@code derive(seed, AUGMENT, e, i)}
     * for v = 0 and {@code derive(seed, AUGMENT, e, i, v)} after that (with {@link Config#sharedDraws},
     * every view from the first one's).
     */
    public DataLoader(Dataset dataset, List<Transform> views, long seed, Config config) {
        if (dataset.size() == 0) throw new IllegalArgumentException("DataLoader: dataset " + dataset.describe() + " is empty");
        if (views.isEmpty()) throw new IllegalArgumentException("DataLoader: no view (transform) given");
        this.dataset = dataset;
        this.views = List.copyOf(views);
        this.seed = seed;
        this.config = config;
        this.pool = config.workers() == 0 ? null : Executors.newFixedThreadPool(config.workers(), r -> {
            Thread t = new Thread(r, "peco4j-loader");
            t.setDaemon(true);
            return t;
        });
    }

    public Dataset dataset() {
        return dataset;
    }

    public int batchesPerEpoch() {
        int n = dataset.size(), b = config.batchSize();
        return config.dropLast() ? n / b : (n + b - 1) / b;
    }

    /** Corrupt samples skipped so far (with {@link OnError#SKIP}). */
    public int skipped() {
        return skippedTotal.get();
    }

    /** The sample order of an epoch: a seeded permutation, or 0..N−1 without shuffling. */
    public int[] order(int epoch) {
        int n = dataset.size();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        if (config.shuffle()) {
            Generator g = Generator.derive(seed, SHUFFLE, epoch);
            for (int i = n - 1; i > 0; i--) {
                int j = g.nextInt(i + 1);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
        }
        return idx;
    }

    /** The batches of an epoch from batch fromBatch on. */
    public Epoch epoch(int epoch, int fromBatch) {
        if (fromBatch < 0 || fromBatch > batchesPerEpoch()) {
            throw new IllegalArgumentException("DataLoader: batch " + fromBatch + " is outside the epoch's " + batchesPerEpoch() + " batches");
        }
        return new Epoch(epoch, fromBatch, order(epoch));
    }

    /** Builds batch b of an epoch (on the calling thread). */
    Batch build(int epoch, int b, int[] order) {
        int start = b * config.batchSize(), end = Math.min(dataset.size(), start + config.batchSize()), nv = views.size();
        float[][] data = new float[nv][];
        int[][] chw = new int[nv][];                                  // each view's image shape, from its first sample (views may differ in size)
        int[] labels = new int[end - start], positions = new int[end - start];
        int count = 0;
        for (int p = start; p < end; p++) {
            int i = order[p];
            Dataset.Sample s;
            try {
                s = dataset.get(i);
            } catch (CorruptImageException e) {
                if (config.onError() == OnError.FAIL) throw e;
                skippedTotal.incrementAndGet();
                System.err.println("warning: skipping sample " + i + ": " + e.getMessage());
                continue;
            }
            for (int v = 0; v < nv; v++) {
                Generator g = v == 0 || config.sharedDraws() ? Generator.derive(seed, AUGMENT, epoch, p) : Generator.derive(seed, AUGMENT, epoch, p, v);
                Image img = views.get(v).apply(s.image(), g);
                if (chw[v] == null) {
                    chw[v] = new int[] {img.channels(), img.height(), img.width()};
                    data[v] = new float[(end - start) * img.data().length];
                }
                int[] d = chw[v];
                if (img.channels() != d[0] || img.height() != d[1] || img.width() != d[2]) {
                    throw new IllegalStateException("DataLoader: sample " + i + " is " + img + " after the transform" + (nv > 1 ? " of view " + v : "") + ", the batch holds "
                            + d[0] + "x" + d[1] + "x" + d[2] + " images (add a resize or crop)");
                }
                System.arraycopy(img.data(), 0, data[v], count * img.data().length, img.data().length);
            }
            positions[count] = p;
            labels[count++] = s.label();
        }
        List<Tensor> out = new java.util.ArrayList<>();
        for (int v = 0; v < nv; v++) {
            if (count == 0) {
                out.add(Tensor.zeros(0, 1, 1, 1));
                continue;
            }
            int[] d = chw[v];
            int per = d[0] * d[1] * d[2];
            out.add(Tensor.of(count < end - start ? java.util.Arrays.copyOf(data[v], count * per) : data[v], count, d[0], d[1], d[2]));
        }
        return new Batch(epoch, b, out, Tensor.ofInts(java.util.Arrays.copyOf(labels, count), count), java.util.Arrays.copyOf(positions, count),
                end - start - count);
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }

    /** An epoch's batches in order, built ahead on the loader's workers. */
    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final int epoch;
        private final int[] order;
        private final ArrayDeque<Future<Batch>> ahead = new ArrayDeque<>();
        private int next, submitted;

        private Epoch(int epoch, int from, int[] order) {
            this.epoch = epoch;
            this.order = order;
            this.next = from;
            this.submitted = from;
            fill();
        }

        private void fill() {
            if (pool == null) return;
            while (ahead.size() < config.prefetch() && submitted < batchesPerEpoch()) {
                int b = submitted++;
                ahead.add(pool.submit(() -> build(epoch, b, order)));
            }
        }

        @Override
        public boolean hasNext() {
            return next < batchesPerEpoch();
        }

        @Override
        public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("DataLoader: epoch " + epoch + " has " + batchesPerEpoch() + " batches");
            int b = next++;
            if (pool == null) return build(epoch, b, order);
            Future<Batch> f = ahead.poll();
            try {
                Batch batch = f.get();
                fill();
                return batch;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("DataLoader: interrupted while waiting for batch " + b, e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                Throwable c = e.getCause();
                throw new IllegalStateException("DataLoader: batch " + b + " of epoch " + epoch + " of " + dataset.describe() + " failed: "
                        + c.getClass().getSimpleName() + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")"), c);
            }
        }

        @Override
        public void close() {
            ahead.forEach(f -> f.cancel(true));
            ahead.clear();
        }
    }
}
