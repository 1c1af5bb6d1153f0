package dev.peco4j.tensor;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool of worker threads and a static partition of work. {@code forRange(n, body)} splits
 * [0, n) into at most {@code threads} contiguous chunks, in order. Kernels give each output element to
 * exactly one chunk and never split a reduction across chunks, so results are bit-identical for any
 * thread count.
 *
 * <p>Hand-off is built for kernels that take tens of microseconds: each worker owns one slot; the
 * caller writes the chunk into it and bumps a volatile sequence number, the worker spins briefly
 * ({@link Thread#onSpinWait}) before it parks, and the caller spins on the workers' done counters.
 * An executor's queue and futures cost several microseconds per chunk and a park/unpark on every
 * call, which dominated small GEMMs on 2 threads. A call made while the pool is busy (from a worker,
 * or from a second application thread) runs on the calling thread alone: same results, no deadlock.
 */
public final class Parallel {
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** Runs everything on the calling thread: for work that is already one of many parallel tasks. */
    public static final Parallel SERIAL = new Parallel(1);

    /** How long a worker spins for the next chunk before it parks: long enough to span one op to the next. */
    private static final long SPIN_NANOS = 50_000;

    private final int threads;
    private final Worker[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("Parallel: threads must be >= 1, got " + threads);
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker();
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs body over [0, n) in at most threads chunks of at least minChunk items; the caller runs the first. */
    public void forRange(int n, int minChunk, RangeBody body) {
        int chunks = Math.max(1, Math.min(threads, n / Math.max(1, minChunk)));
        if (chunks == 1 || Thread.currentThread() instanceof Worker || !busy.compareAndSet(false, true)) {
            if (n > 0) body.run(0, n);
            return;
        }
        try {
            for (int c = 1; c < chunks; c++) {
                workers[c - 1].post(body, (int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
            }
            Throwable failure = null;
            try {
                body.run(0, (int) ((long) n / chunks));
            } catch (Throwable t) {
                failure = t;
            }
            for (int c = 1; c < chunks; c++) {
                Throwable t = workers[c - 1].await();
                if (failure == null) failure = t;
            }
            if (failure instanceof RuntimeException r) throw r;
            if (failure instanceof Error e) throw e;
            if (failure != null) throw new IllegalStateException(failure);
        } finally {
            busy.set(false);
        }
    }

    /** One worker and its slot: body/from/to are written before the volatile posted, read after it. */
    private static final class Worker extends Thread {
        private RangeBody body;
        private int from, to;
        private Throwable error;
        private volatile long posted, done;
        private volatile boolean parked;

        Worker() {
            super("peco4j-worker");
            setDaemon(true);
        }

        void post(RangeBody b, int f, int t) {
            body = b;
            from = f;
            to = t;
            error = null;
            posted = posted + 1; // only the (single, busy-guarded) caller writes it
            if (parked) LockSupport.unpark(this);
        }

        /** Waits for the posted chunk; returns its exception, if any. */
        Throwable await() {
            long target = posted, start = System.nanoTime();
            for (int spins = 0; done != target; spins++) {
                if ((spins & 63) != 0 || System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else Thread.yield();
            }
            return error;
        }

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                long start = System.nanoTime();
                for (int spins = 0; posted == seen; spins++) {
                    if ((spins & 63) != 0 || System.nanoTime() - start < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;
                        if (posted == seen) LockSupport.park(this);
                        parked = false;
                    }
                }
                seen = posted;
                try {
                    body.run(from, to);
                } catch (Throwable t) {
                    error = t;
                }
                body = null;
                done = seen;
            }
        }
    }
}
