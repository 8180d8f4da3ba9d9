package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void writesAndReadsBack() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a \"quoted\" \\ line\nnext\u0001");
        m.put("i", 42);
        m.put("l", 1L << 40);
        m.put("d", 1234.5678);
        m.put("small", 0.000123456789);
        m.put("nan", Double.NaN);
        m.put("b", true);
        m.put("n", null);
        m.put("list", List.of(1, "two", List.of()));
        m.put("empty", Map.of());
        String text = Json.write(m);
        Object back = Json.parse(text);
        assertEquals("a \"quoted\" \\ line\nnext\u0001", Json.at(back, "s"));
        assertEquals(42L, Json.at(back, "i"));
        assertEquals(1L << 40, Json.at(back, "l"));
        assertEquals(1234.57, Json.number(back, "d"), 1e-9);
        assertEquals(0.000123457, Json.number(back, "small"), 1e-12);
        assertNull(Json.at(back, "nan"));
        assertEquals(Boolean.TRUE, Json.at(back, "b"));
        assertEquals("two", Json.at(back, "list", 1));
        assertEquals(List.of(), Json.at(back, "list", 2));
        assertEquals(Map.of(), Json.at(back, "empty"));
        assertTrue(Double.isNaN(Json.number(back, "missing", 3)));
    }

    @Test
    void rejectsBrokenInput() {
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": 1"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("[1, 2] x"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{a: 1}"));
        assertEquals(-1.5e-3, (Double) Json.parse(" -1.5e-3 "), 1e-12);
    }
}
