package dev.peco4j.nn.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    private static String error(String text) {
        return assertThrows(IllegalArgumentException.class, () -> Json.parse(text, "t.json")).getMessage();
    }

    @Test
    void valuesKeepOrderAndTypes() {
        Object v = Json.parse("{\"b\":[1,-2,3.5,\"x\\u00e9\",true,false,null],\"a\":{}}", "t.json");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", java.util.Arrays.asList(1L, -2L, 3.5, "xé", true, false, null));
        m.put("a", Map.of());
        assertEquals(m, v);
        assertEquals(List.of("b", "a"), List.copyOf(((Map<?, ?>) v).keySet()));
        assertEquals("{\"b\":[1,-2,3.5,\"x\\u00e9\",true,false,null],\"a\":{}}", Json.write(v));
        assertEquals(7L, Json.parse("  7 \n", "t.json"));
    }

    @Test
    void strictGrammarAndBounds() {
        assertTrue(error("01").contains("Leading zeroes not allowed"), error("01"));
        assertTrue(error("[1] 2").startsWith("t.json: not valid JSON: unexpected text after the JSON value"), error("[1] 2"));
        assertTrue(error("NaN").startsWith("t.json: not valid JSON: "), error("NaN"));
        assertEquals("t.json: not valid JSON: number 1e400 is out of range (line 1, column 6)", error("1e400"));
        assertTrue(error("99999999999999999999").contains("does not fit 64 bits"), error("99999999999999999999"));
        assertTrue(error("{\"a\":1,\"a\":2}").contains("Duplicate field 'a'"));
        assertTrue(error("").startsWith("t.json: not valid JSON: no JSON value"), error(""));
        assertTrue(error("{a:1}").contains("was expecting double-quote to start field name"), error("{a:1}"));
        String deep = error("[".repeat(100_000));
        assertTrue(deep.contains("nesting depth (65) exceeds the maximum allowed (64"), deep);
        assertEquals(Json.MAX_DEPTH, depthAccepted());
    }

    private static int depthAccepted() {
        int d = 1;
        while (true) {
            try {
                Json.parse("[".repeat(d + 1) + "]".repeat(d + 1), "t.json");
                d++;
            } catch (IllegalArgumentException e) {
                return d;
            }
        }
    }

    @Test
    void utf8IsValidatedNotReplaced() {
        byte[] bad = {'"', (byte) 0xc3, 'A', '"'};
        assertEquals("t.json: invalid UTF-8 at byte 1 (0xc3)", assertThrows(IllegalArgumentException.class, () -> Json.parse(bad, "t.json")).getMessage());
        byte[] overlong = {'"', (byte) 0xc0, (byte) 0xaf, '"'};
        assertThrows(IllegalArgumentException.class, () -> Json.parse(overlong, "t.json"));
        assertEquals("é", Json.parse("\"é\"".getBytes(StandardCharsets.UTF_8), "t.json"));
    }

    @Test
    void javascriptObjectLiteralsOnlyWhenAsked() {
        byte[] js = "{format:\"layers-model\",n:[1,2],min:-.5,scale:.25}".getBytes(StandardCharsets.UTF_8);
        assertEquals(Map.of("format", "layers-model", "n", List.of(1L, 2L), "min", -0.5, "scale", 0.25),
                Json.parse(js, "model.json", Json.Syntax.JAVASCRIPT));
        assertThrows(IllegalArgumentException.class, () -> Json.parse(js, "model.json"));
    }

    @Test
    void parseObjectNamesWhatItFound() {
        assertEquals("c.json: expected a JSON object, found an array",
                assertThrows(IllegalArgumentException.class, () -> Json.parseObject("[1]", "c.json")).getMessage());
    }

    @Test
    void theWriterNamesTheValueItCannotHold() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("type", "eval");
        r.put("test_loss", Double.NaN);
        assertEquals("JSON cannot hold NaN (at $.test_loss)", assertThrows(IllegalArgumentException.class, () -> Json.write(r)).getMessage());
        assertEquals("JSON cannot hold Infinity (at $[1])",
                assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(1.0, Double.POSITIVE_INFINITY))).getMessage());
    }
}
