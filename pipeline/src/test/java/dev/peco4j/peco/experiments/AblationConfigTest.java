package dev.peco4j.peco.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The ablation's config: its checks, the stage limits, and an ablation.json written before a field existed. */
class AblationConfigTest {
    static AblationConfig config(String fractions, int limitTrain, int imgSize) {
        return new AblationConfig("full", "tok-none,tok-moco", 3, 5, 1, 20000, 240, 100, 20, 10000, fractions, limitTrain, "tiny", imgSize, 4);
    }

    @Test
    void fieldsAddedLaterReadAsEveryEarlierAblationRan() {
        AblationConfig c = config("1,0.1,0.01", 0, 28);
        Map<String, Object> older = new java.util.LinkedHashMap<>(c.toMap());
        for (String k : List.of("model", "img_size", "patch_size")) older.remove(k);
        assertEquals(c, AblationConfig.fromMap(older));
        assertEquals(c, AblationConfig.fromMap(c.toMap()));
        older.put("pretrain_epochs", 1);
        var e = assertThrows(IllegalArgumentException.class, () -> AblationConfig.fromMap(older));
        assertTrue(e.getMessage().contains("older version") && e.getMessage().contains("choose another --out"), e.getMessage());
    }

    @Test
    void limitsAndFractionsAreChecked() {
        AblationConfig c = config("1,0.1", 5000, 28);
        assertEquals(5000, c.limit(20000), "within --limit-train");
        assertEquals(3000, c.limit(3000));
        assertEquals(5000, c.limit(0));
        assertEquals(20000, config("1", 0, 28).limit(20000));
        assertEquals(List.of(1.0, 0.1), c.fractionList());
        var e = assertThrows(IllegalArgumentException.class, () -> config("0.1,0.01", 0, 28));
        assertTrue(e.getMessage().contains("must include 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("1,1.5", 0, 28));
        assertTrue(e.getMessage().contains("1.5 is not in (0, 1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("1", 0, 30));
        assertTrue(e.getMessage().contains("--img-size must be a multiple of 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new AblationConfig("full", "tok-none", 3, 5, 1, 0, 240, 100, 20, 0, "1", 0, "beit_base_patch16_224_8k_vocab", 28, 4));
        assertTrue(e.getMessage().contains("--img-size 28 is not a multiple of the ViT's patch size 16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new AblationConfig("full", "tok-none", 3, 5, 1, 0, 240, 100, 20, 0, "1", 0, "huge", 28, 4));
        assertTrue(e.getMessage().contains("--model must be tiny, small or one of"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new AblationConfig("full", "tok-moco,tok-none", 3, 5, 1, 0, 240, 100, 20, 0, "1", 0, "tiny", 28, 4));
        assertTrue(e.getMessage().contains("baseline tok-none first"), e.getMessage());
    }
}
