package dev.peco4j.tensor;

/**
 * One recorded operation of the autodiff graph: its op name, its inputs, and the closure that maps
 * the output's gradient to the inputs' gradients. The closure holds the saved tensors; it is
 * dropped after backward (unless the graph is retained), which frees them.
 */
final class Node {
    /** Maps the output gradient to one gradient per input (null where none is needed). */
    @FunctionalInterface
    interface Backward {
        Tensor[] apply(Tensor grad, boolean[] needsGrad);
    }

    final String op;
    final Tensor[] inputs;
    /** Which inputs required a gradient when the op was recorded (PyTorch's semantics: freezing later changes nothing). */
    final boolean[] needs;
    private final Storage[] inputStorages;
    private final int[] inputVersions;
    private Backward backward;

    Node(String op, Backward backward, Tensor[] inputs) {
        this.op = op;
        this.backward = backward;
        this.inputs = inputs;
        this.inputStorages = new Storage[inputs.length];
        this.inputVersions = new int[inputs.length];
        this.needs = new boolean[inputs.length];
        for (int k = 0; k < inputs.length; k++) {
            needs[k] = inputs[k].requiresGrad();
            inputStorages[k] = inputs[k].storage;
            inputVersions[k] = inputs[k].storage.version;
        }
    }

    Tensor[] runBackward(Tensor grad, boolean retainGraph) {
        if (backward == null) {
            throw new IllegalStateException("backward: the graph through '" + op + "' was already freed by an earlier "
                    + "backward(); pass retainGraph=true to the first backward to go through it twice");
        }
        for (int k = 0; k < inputs.length; k++) {
            if (inputs[k].storage != inputStorages[k]) {
                throw new IllegalStateException("backward: input " + k + " of '" + op + "' (shape " + inputs[k].shape()
                        + ") was given new data (setData) after it was used");
            }
            if (inputs[k].storage.version != inputVersions[k]) {
                throw new IllegalStateException("backward: input " + k + " of '" + op + "' (shape " + inputs[k].shape()
                        + ") was modified in place after it was used (version " + inputs[k].storage.version
                        + ", expected " + inputVersions[k] + ")");
            }
        }
        Tensor[] grads = backward.apply(grad, needs.clone());
        if (grads.length != inputs.length) {
            throw new IllegalStateException("backward of '" + op + "' returned " + grads.length
                    + " gradients for " + inputs.length + " inputs");
        }
        if (!retainGraph) backward = null;
        return grads;
    }
}
