package dev.peco4j.nn;

import dev.peco4j.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * PyTorch's SGD: d ← g + wd·p; with momentum μ, b ← d on the first step, then b ← μb + (1−dampening)d,
 * and d ← b (or d + μb with Nesterov); p ← p − lr·d.
 */
public final class SGD extends Optimizer {
    public record Config(double momentum, double dampening, boolean nesterov) {
        public Config {
            if (momentum < 0) throw new IllegalArgumentException("SGD: momentum must be >= 0, got " + momentum);
            if (nesterov && (momentum <= 0 || dampening != 0)) {
                throw new IllegalArgumentException("SGD: Nesterov momentum needs momentum > 0 and zero dampening");
            }
        }

        public static Config momentum(double m) {
            return new Config(m, 0, false);
        }
    }

    private final Config config;

    public SGD(List<ParamGroup> groups, Config config) {
        super(groups);
        this.config = config;
    }

    @Override
    protected void update(ParamGroup g, Tensor p, Tensor grad, Map<String, Tensor> s) {
        Tensor d = g.weightDecay != 0 ? grad.add(p.mul(g.weightDecay)) : grad;
        if (config.momentum() != 0) {
            Tensor buf = s.get("momentum_buffer");
            if (buf == null) {
                buf = d.copy().detach();
                s.put("momentum_buffer", buf);
            } else {
                buf.mulInPlace(config.momentum()).addInPlace(d, 1 - config.dampening());
            }
            d = config.nesterov() ? d.add(buf.mul(config.momentum())) : buf;
        }
        p.addInPlace(d, -g.lr);
    }
}
