package dev.peco4j.nn;

import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/** A lookup table (num, dim) indexed by int32 ids of any shape → (…, dim). Init N(0, 1) as in PyTorch. */
public final class Embedding extends Module {
    public final int num, dim;
    public final Tensor weight;

    public Embedding(Generator gen, int num, int dim) {
        this.num = num;
        this.dim = dim;
        this.weight = parameter("weight", Tensor.zeros(DType.FLOAT32, num, dim));
        Init.normal(weight, gen, 0, 1);
    }

    @Override
    public Tensor forward(Tensor ids) {
        return Functional.embedding(weight, ids);
    }

    @Override
    protected String extraRepr() {
        return num + ", " + dim;
    }
}
