package dev.peco4j.nn;

import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Modules applied in order; children are named "0", "1", … as in PyTorch. */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    public Sequential add(Module m) {
        layers.add(child(Integer.toString(layers.size()), m));
        return this;
    }

    public Module get(int i) {
        return layers.get(i);
    }

    public int size() {
        return layers.size();
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Module m : layers) x = m.forward(x);
        return x;
    }
}
