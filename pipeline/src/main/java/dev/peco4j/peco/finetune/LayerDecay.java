package dev.peco4j.peco.finetune;

import dev.peco4j.nn.ParamGroup;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * BEiT's layer-wise learning-rate decay (optim_factory.py, run_class_finetuning.py): with L blocks and
 * decay ρ, a parameter of layer id i gets lr × ρ^(L + 1 − i). Layer ids ({@code get_num_layer_for_vit}):
 * cls_token, mask_token, pos_embed and patch_embed.* are 0; blocks.k.* is k + 1; everything else
 * (rel_pos_bias.*, norm, fc_norm, head) is L + 1, scale 1. One AdamW group per (layer, decay or not),
 * named as BEiT names them ("layer_3_decay", "layer_3_no_decay").
 *
 * <p>Weight decay as BEiT's fine-tuning: none for 1-d tensors, biases, pos_embed and cls_token; the
 * per-block relative position tables decay unless {@code decayRelPos} is false (BEiT's
 * --disable_weight_decay_on_rel_pos_bias).
 *
 * <pre>{@code
 * List<ParamGroup> groups = LayerDecay.groups(vit, 4e-3, 0.05, 0.65, true);   // ViT-B: patch embed × 0.65¹³ ≈ 0.0037
 * }</pre>
 */
public final class LayerDecay {
    private LayerDecay() {}

    /** BEiT's layer id of a parameter of a ViT with depth blocks. */
    public static int layerId(String name, int depth) {
        if (name.equals("cls_token") || name.equals("mask_token") || name.equals("pos_embed") || name.startsWith("patch_embed.")) return 0;
        if (name.startsWith("blocks.")) return Integer.parseInt(name.substring(7, name.indexOf('.', 7))) + 1;
        return depth + 1;
    }

    /** ρ^(L + 1 − id) for id = 0..L+1. */
    public static double[] scales(int depth, double decay) {
        double[] s = new double[depth + 2];
        for (int i = 0; i <= depth + 1; i++) s[i] = Math.pow(decay, depth + 1 - i);
        return s;
    }

    /** BEiT fine-tuning's no-weight-decay rule (see the class comment). */
    public static boolean noWeightDecay(String name, Tensor p, boolean decayRelPos) {
        return p.dim() == 1 || name.endsWith(".bias") || name.equals("pos_embed") || name.equals("cls_token")
                || !decayRelPos && name.endsWith("relative_position_bias_table");
    }

    /** AdamW groups of the trainable parameters: per layer and decay, lr scale ρ^(L+1−id), in BEiT's order (by first appearance). */
    public static List<ParamGroup> groups(VisionTransformer m, double lr, double weightDecay, double decay, boolean decayRelPos) {
        int depth = m.config.depth();
        double[] scales = scales(depth, decay);
        Map<String, List<Tensor>> params = new LinkedHashMap<>();
        Map<String, double[]> settings = new LinkedHashMap<>();
        m.namedParameters().forEach((n, p) -> {
            if (!p.requiresGrad()) return;
            int id = layerId(n, depth);
            boolean no = noWeightDecay(n, p, decayRelPos);
            String g = "layer_" + id + (no ? "_no_decay" : "_decay");
            params.computeIfAbsent(g, k -> new ArrayList<>()).add(p);
            settings.put(g, new double[] {no ? 0 : weightDecay, scales[id]});
        });
        List<ParamGroup> out = new ArrayList<>();
        params.forEach((g, ps) -> out.add(new ParamGroup(g, ps, lr, settings.get(g)[0], settings.get(g)[1])));
        return out;
    }
}
