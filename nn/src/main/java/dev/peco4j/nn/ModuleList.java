package dev.peco4j.nn;

import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** An indexed list of modules ("0", "1", …) that the owner calls itself; it has no forward of its own. */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final List<M> items = new ArrayList<>();

    public ModuleList<M> add(M m) {
        items.add(child(Integer.toString(items.size()), m));
        return this;
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    public List<M> asList() {
        return List.copyOf(items);
    }

    @Override
    public Iterator<M> iterator() {
        return asList().iterator();
    }

    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException("ModuleList has no forward; iterate over its modules");
    }
}
