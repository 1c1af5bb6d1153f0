package dev.peco4j.peco;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peco4j.nn.AdamW;
import dev.peco4j.nn.Losses;
import dev.peco4j.nn.Module;
import dev.peco4j.nn.ParamGroup;
import dev.peco4j.peco.model.VisionTransformer;
import dev.peco4j.peco.pretrain.MaskedImageModel;
import dev.peco4j.tensor.DType;
import dev.peco4j.tensor.Device;
import dev.peco4j.tensor.DeviceUnavailableException;
import dev.peco4j.tensor.Functional;
import dev.peco4j.tensor.Generator;
import dev.peco4j.tensor.Tensor;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Twenty training steps of the classifier and of the MIM model on each kind of device (OpenCL, in
 * CI PoCL; CUDA) give the host's losses within 1e-3 relative, with every op on the device (no host
 * fallback). Each case is skipped, with the reason, where its device does not exist.
 */
class DeviceTrainingTest {
    private static final int STEPS = 20;

    /** The device by name, or the case aborted saying why it cannot start. */
    private static Device open(String name) {
        try {
            return Device.get(name);
        } catch (DeviceUnavailableException e) {
            System.out.println("DeviceTrainingTest on " + name + " skipped: " + e.getMessage());
            Assumptions.abort(e.getMessage());
            throw new AssertionError(e);
        }
    }

    /** The losses of STEPS AdamW steps of model on device, each from loss(model, step) on inputs already moved there. */
    private static double[] train(Module model, Device device, BiFunction<Module, Integer, Tensor> loss) {
        model.to(device);
        AdamW opt = new AdamW(java.util.List.of(new ParamGroup("all", model.parameters(), 1e-3, 0.05)), AdamW.Config.DEFAULT);
        double[] out = new double[STEPS];
        for (int s = 0; s < STEPS; s++) {
            Tensor l = loss.apply(model, s);
            assertEquals(device, l.device());
            out[s] = l.item();
            l.backward();
            opt.step();
            opt.zeroGrad();
        }
        return out;
    }

    private static void assertClose(double[] host, double[] device, Device dev, String what) {
        for (int s = 0; s < host.length; s++) {
            assertTrue(Math.abs(host[s] - device[s]) <= 1e-3 * Math.abs(host[s]),
                    what + " step " + s + ": host loss " + host[s] + ", " + dev + " loss " + device[s]);
        }
        assertTrue(host[STEPS - 1] < host[0], what + ": the loss did not go down (" + host[0] + " -> " + host[STEPS - 1] + ")");
    }

    @ParameterizedTest
    @ValueSource(strings = {"opencl", "cuda"})
    void classifierStepsMatchTheHost(String name) {
        Device dev = open(name);
        VisionTransformer.Config c = VisionTransformer.Config.of(16, 4, 32, 2, 2).withInChans(1).withNumClasses(5)
                .withPool(VisionTransformer.Pool.AVG);
        Tensor images = Tensor.randn(new Generator(1), 8, 1, 16, 16);
        Tensor labels = Tensor.randint(new Generator(2), 0, 5, 8);
        Function<Device, BiFunction<Module, Integer, Tensor>> step = d -> (model, s) ->
                Functional.crossEntropy(((VisionTransformer) model).forward(images.to(d)), labels.to(d), 0.1);
        double[] host = train(new VisionTransformer(new Generator(3), c), Device.cpu(), step.apply(Device.cpu()));
        var before = dev.hostFallbacks();
        double[] device = train(new VisionTransformer(new Generator(3), c), dev, step.apply(dev));
        assertEquals(before, dev.hostFallbacks(), "ops ran on the host");
        assertClose(host, device, dev, "classifier");
    }

    @ParameterizedTest
    @ValueSource(strings = {"opencl", "cuda"})
    void maskedImageModelStepsMatchTheHost(String name) {
        Device dev = open(name);
        VisionTransformer.Config v = MaskedImageModel.Config.pretraining(VisionTransformer.Config.of(16, 4, 32, 2, 2), 0, 0.1);
        MaskedImageModel.Config c = MaskedImageModel.Config.of(v, 24);
        Tensor images = Tensor.randn(new Generator(4), 4, 3, 16, 16);
        Tensor mask = Tensor.bernoulli(new Generator(5), 0.4, 4, 16);
        int masked = (int) mask.to(DType.INT32).sum().item();
        Tensor targets = Tensor.randint(new Generator(6), 0, 24, masked);
        Function<Device, BiFunction<Module, Integer, Tensor>> step = d -> (model, s) ->
                Losses.crossEntropy(((MaskedImageModel) model).forward(images.to(d), mask.to(d)), targets.to(d), 0);
        double[] host = train(new MaskedImageModel(new Generator(7), c), Device.cpu(), step.apply(Device.cpu()));
        var before = dev.hostFallbacks();
        double[] device = train(new MaskedImageModel(new Generator(7), c), dev, step.apply(dev));
        assertEquals(before, dev.hostFallbacks(), "ops ran on the host");
        assertClose(host, device, dev, "MIM");
    }
}
