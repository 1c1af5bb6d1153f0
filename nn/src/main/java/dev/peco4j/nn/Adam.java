package dev.peco4j.nn;

import java.util.List;

/** PyTorch's Adam: like {@link AdamW} but the weight decay is L2, added to the gradient (g ← g + wd·p). */
public final class Adam extends AdamW {
    public Adam(List<ParamGroup> groups, Config config) {
        super(groups, config, false);
    }
}
