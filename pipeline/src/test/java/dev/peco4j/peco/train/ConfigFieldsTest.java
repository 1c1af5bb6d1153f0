package dev.peco4j.peco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.peco4j.peco.perceptual.PerceptualConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigFieldsTest {
    @Test
    void recordsRoundTripUnderSnakeCaseKeysInComponentOrder() {
        assertEquals("stop_grad_conv1", ConfigFields.key("stopGradConv1"));
        ClassifierConfig c = ClassifierTrainerTest.tiny(2, 2e-3, 0);
        Map<String, Object> m = c.toMap();
        assertEquals(List.of("data", "seed", "epochs", "batch_size", "lr", "min_lr", "warmup_epochs", "weight_decay", "label_smoothing", "clip_grad",
                "width", "depth", "heads", "mlp_ratio", "drop_path", "augment", "save_every", "limit_train"), List.copyOf(m.keySet()));
        assertEquals(c, ClassifierConfig.fromMap(m));
        PerceptualConfig p = new PerceptualConfig("subset", 4, 1, 32, 1.5e-4, 0.5, 0.1, 28, 7, 16, 1, 2, 2.0, 16, 32, 0.2, 0.99, true, 0.2, 0, 128, 128, 2);
        assertEquals(p, PerceptualConfig.fromMap(p.toMap()));
    }

    @Test
    void aMissingOrMistypedFieldIsNamed() {
        Map<String, Object> m = new LinkedHashMap<>(ClassifierTrainerTest.tiny(2, 2e-3, 0).toMap());
        m.put("width", "wide");
        assertEquals("classifier config: 'width' is missing or not a 32-bit integer: wide",
                assertThrows(IllegalArgumentException.class, () -> ClassifierConfig.fromMap(m)).getMessage());
        m.put("width", 32);
        m.remove("augment");
        assertEquals("classifier config: 'augment' is missing or not a boolean: null",
                assertThrows(IllegalArgumentException.class, () -> ClassifierConfig.fromMap(m)).getMessage());
        m.put("augment", true);
        m.put("width", 31L);                                             // a value the constructor refuses: its message
        assertEquals("train-classifier: --width 31 must be divisible by --heads 2",
                assertThrows(IllegalArgumentException.class, () -> ClassifierConfig.fromMap(m)).getMessage());
    }
}
