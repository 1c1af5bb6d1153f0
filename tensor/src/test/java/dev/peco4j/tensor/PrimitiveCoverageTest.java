package dev.peco4j.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** No primitive lands without a float64 gradient property of at least 50 cases. */
class PrimitiveCoverageTest {
    @Test
    void everyPrimitiveHasAGradientProperty() {
        Set<Op> missing = EnumSet.allOf(Op.class);
        missing.removeAll(PrimitiveGradientProperties.PROPERTIES.keySet());
        if (!missing.isEmpty()) {
            fail("primitives without a gradient property in PrimitiveGradientProperties: " + missing);
        }
    }

    @Test
    void everyPropertyRunsAtLeastFiftyCases() {
        assertTrue(PrimitiveGradientProperties.CASES >= 50,
                "gradient properties run " + PrimitiveGradientProperties.CASES + " cases each; at least 50 are required");
    }
}
