package dev.peco4j.nn;

import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/** Zeroes elements with probability p in training and scales the rest by 1/(1−p); identity in eval. */
public final class Dropout extends Module implements Stochastic {
    public final double p;
    private Generator gen = new Generator(0);

    public Dropout(double p) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("Dropout: p must be in [0, 1], got " + p);
        this.p = p;
    }

    @Override
    public void generator(Generator g) {
        this.gen = g;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.dropout(x, p, isTraining(), gen);
    }

    @Override
    protected String extraRepr() {
        return "p=" + p;
    }
}
