package dev.peco4j.tensor;

import dev.peco4j.tensor.testing.Property;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Runs every primitive's float64 gradient property (see {@link PrimitiveGradientProperties}). */
class PrimitiveGradientTest {
    @TestFactory
    Stream<DynamicTest> everyPrimitiveMatchesFiniteDifferences() {
        return PrimitiveGradientProperties.PROPERTIES.keySet().stream()
                .map(op -> DynamicTest.dynamicTest(op.opName(), () -> PrimitiveGradientProperties.run(op)));
    }

    @AfterAll
    static void summary() {
        Map<String, Integer> runs = new TreeMap<>();
        Property.casesRun().forEach((name, n) -> {
            if (name.startsWith("gradient of ")) runs.put(name.substring("gradient of ".length()), n);
        });
        int total = runs.values().stream().mapToInt(Integer::intValue).sum();
        System.out.println("gradient properties: " + runs.size() + " primitives, " + total + " cases: " + runs);
    }
}
