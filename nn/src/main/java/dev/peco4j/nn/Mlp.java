package dev.peco4j.nn;

import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;

/** The transformer MLP (timm/BEiT names): fc1 (d → h), act, fc2 (h → d), dropout after each. */
public final class Mlp extends Module {
    public final Linear fc1, fc2;
    public final Module act;
    public final Dropout drop;

    public Mlp(Generator gen, int in, int hidden, int out, Module act, double drop) {
        this.fc1 = child("fc1", new Linear(gen, in, hidden));
        this.act = child("act", act);
        this.fc2 = child("fc2", new Linear(gen, hidden, out));
        this.drop = child("drop", new Dropout(drop));
    }

    @Override
    public Tensor forward(Tensor x) {
        // GELU/SiLU/ReLU run in fc1's GEMM epilogue: one pass over the hidden activations less
        Tensor h = act instanceof Activations.Elementwise e && e.fused != null ? fc1.forward(x, e.fused) : act.forward(fc1.forward(x));
        return drop.forward(fc2.forward(drop.forward(h)));
    }
}
