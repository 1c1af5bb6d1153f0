package dev.peco4j.peco.tokenizer;

import static dev.peco4j.peco.PyTorchFixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.peco4j.peco.PyTorchFixtures;
import dev.peco4j.tensor.Autograd;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One VQGAN training step against taming-transformers' code run in PyTorch 1.13
 * (nn/src/test/python/make_fixtures.py, vqgan_tiny): a tiny VQModel with random weights loads
 * strictly by taming's names, and its codes, reconstruction, both quantizer-loss forms, the adaptive
 * GAN weight, every autoencoder gradient and the discriminator step match within 1e-4.
 */
class VQModelParityTest {
    /** The fixture's config: ch 16, ch_mult (1, 2), one res block, attention at resolution 8 of 16, 16 codes of 8, GroupNorm 8. */
    static final VQModel.Config TINY = new VQModel.Config(16, List.of(1, 2), 1, VQModel.Config.attnAt(16, List.of(8), 2), 3, 3, 8, 8, 16, 0.25,
            VectorQuantizer.LossForm.PAPER, VectorQuantizer.Options.TAMING, 0, 8, 8, 2);

    static VQModel load(Map<String, Tensor> all, VectorQuantizer.LossForm form) {
        VQModel m = new VQModel(new Generator(0), TINY.withLossForm(form));
        Map<String, Tensor> state = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith("param.")) state.put(k.substring(6), v);
        });
        m.loadStateDict(state, true);
        m.to(DType.FLOAT64);
        m.train(true);
        return m;
    }

    @Test
    void oneTrainingStepMatchesTaming() throws Exception {
        Map<String, Tensor> all = PyTorchFixtures.read("vqgan_tiny");
        VQModel m = load(all, VectorQuantizer.LossForm.PAPER);
        Tensor x = all.get("x").to(DType.FLOAT64);

        Tensor h = m.encodeToPrequant(x);
        assertClose(all.get("h"), h, 1e-4, "h = quant_conv(encoder(x))");
        VectorQuantizer.Result q = m.quantize.quantize(h);
        assertArrayEquals(all.get("indices").toIntArray(), q.indices().toIntArray(), "code indices");
        assertClose(all.get("quant"), q.quantized(), 1e-4, "quant");
        assertClose(all.get("q_loss.paper"), q.loss(), 1e-4, "q_loss.paper");
        Tensor xrec = m.decode(q.quantized());
        assertClose(all.get("xrec"), xrec, 1e-4, "xrec");

        // taming's generator step: L1 + adaptive weight · hinge generator loss + the paper's VQ loss
        Tensor nll = xrec.sub(x).abs().mean();
        Tensor logitsFake = m.loss.discriminator.forward(xrec);
        Tensor gLoss = logitsFake.mean().neg();
        assertClose(all.get("nll"), nll, 1e-4, "nll");
        assertClose(all.get("logits_fake"), logitsFake, 1e-4, "logits_fake");
        Tensor last = m.decoder.lastLayer();
        Tensor nllGrad = Autograd.grad(nll, List.of(last), true).get(0), gGrad = Autograd.grad(gLoss, List.of(last), true).get(0);
        assertClose(all.get("nll_grad_norm"), nllGrad.norm(), 1e-4, "‖∇ nll‖");
        assertClose(all.get("g_grad_norm"), gGrad.norm(), 1e-4, "‖∇ g_loss‖");
        double dWeight = Math.min(Math.max(nllGrad.norm().item() / (gGrad.norm().item() + 1e-4), 0), 1e4) * 0.8;
        assertEquals(all.get("d_weight").item(), dWeight, 1e-4 * Math.abs(dWeight), "d_weight");
        Tensor ae = nll.add(gLoss.mul(dWeight)).add(q.loss());
        assertClose(all.get("ae_loss"), ae, 1e-4, "ae_loss");
        m.zeroGrad();
        ae.backward();
        int checked = 0;
        for (var e : m.namedParameters().entrySet()) {
            if (e.getKey().startsWith("loss.")) continue;
            assertClose(all.get("grad." + e.getKey()), e.getValue().grad(), 1e-4, 1e-9, "grad " + e.getKey());
            checked++;
        }
        assertEquals(all.keySet().stream().filter(k -> k.startsWith("grad.")).count(), checked, "every autoencoder gradient compared");
        for (String k : List.of("main.3.running_mean", "main.3.running_var", "main.6.running_mean", "main.6.running_var")) {
            assertClose(all.get("bn_after_g.loss.discriminator." + k), m.stateDict().get("loss.discriminator." + k), 1e-4, "after D(xrec): " + k);
        }
    }

    @Test
    void theLegacyLossSendsBetaToTheCodebookAsTamingDoes() throws Exception {
        Map<String, Tensor> all = PyTorchFixtures.read("vqgan_tiny");
        for (VectorQuantizer.LossForm form : VectorQuantizer.LossForm.values()) {
            VQModel m = load(all, form);
            String name = form.name().toLowerCase(java.util.Locale.ROOT);
            Tensor h = m.encodeToPrequant(all.get("x").to(DType.FLOAT64)).detach().contiguous().requiresGrad(true);
            VectorQuantizer.Result q = m.quantize.quantize(h);
            assertClose(all.get("q_loss." + name), q.loss(), 1e-4, "q_loss." + name);
            q.loss().backward();
            assertClose(all.get("q_grad." + name + ".h"), h.grad(), 1e-4, name + ": d q_loss / d h");
            assertClose(all.get("q_grad." + name + ".quantize.embedding.weight"), m.quantize.codebook().grad(), 1e-4, name + ": d q_loss / d codebook");
        }
    }

    @Test
    void theDiscriminatorStepMatchesTaming() throws Exception {
        Map<String, Tensor> all = PyTorchFixtures.read("vqgan_tiny");
        VQModel m = load(all, VectorQuantizer.LossForm.PAPER);
        Tensor x = all.get("x").to(DType.FLOAT64), xrec = all.get("xrec");
        NLayerDiscriminator d = m.loss.discriminator;
        Tensor real = d.forward(x), fake = d.forward(xrec);
        assertClose(all.get("logits_real"), real, 1e-4, "logits_real");
        assertClose(all.get("logits_fake_d"), fake, 1e-4, "logits_fake_d");
        Tensor hinge = real.neg().add(1.0).relu().mean().add(fake.add(1.0).relu().mean()).mul(0.5);
        Tensor vanilla = softplus(real.neg()).mean().add(softplus(fake).mean()).mul(0.5);
        assertClose(all.get("d_loss.hinge"), hinge, 1e-4, "hinge");
        assertClose(all.get("d_loss.vanilla"), vanilla, 1e-4, "vanilla");
        hinge.backward();
        for (var e : d.namedParameters().entrySet()) {
            assertClose(all.get("dgrad.loss.discriminator." + e.getKey()), e.getValue().grad(), 1e-4, 1e-9, "dgrad " + e.getKey());
        }
        for (String k : List.of("main.3.running_mean", "main.3.running_var", "main.6.running_mean", "main.6.running_var")) {
            assertClose(all.get("bn_after.loss.discriminator." + k), d.stateDict().get(k), 1e-4, "after the D step: " + k);
        }
    }

    /** log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|). */
    static Tensor softplus(Tensor x) {
        return x.relu().add(x.abs().neg().exp().add(1.0).log());
    }
}
