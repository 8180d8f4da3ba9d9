package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;

/**
 * report.json keeps its layout and field names across the move from the hand-written writer to Jackson:
 * {@code report-before-jackson.json} is {@link ReportTest#sample()} as the hand-written writer wrote it.
 */
class ReportJsonTest {
    private static String before() throws IOException {
        try (InputStream in = ReportJsonTest.class.getResourceAsStream("report-before-jackson.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aReportWrittenBeforeRoundTripsToTheSameText() throws Exception {
        String before = before();
        assertEquals(before, ReportJson.write(ReportJson.read(before)));
    }

    @Test
    void theSameReportHasTheSameFieldsAndValues() throws Exception {
        JsonNode before = ReportJson.tree(before());
        JsonNode now = ReportJson.tree(ReportJson.write(ReportTest.sample().toJson()));
        assertEquals(paths(before, ""), paths(now, ""), "the same field names at the same places");
        // goal rows may be added; each keeps the fields it had
        for (JsonNode goal : now.path("goals")) {
            assertEquals(List.of("goal", "target", "measured", "met"), fieldNames(goal));
        }
        ((ObjectNode) before).remove("goals");
        ((ObjectNode) now).remove("goals");
        assertEquals(before, now);
    }

    @Test
    void numbersAreRoundedAndNaNIsNull() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a \"quoted\" \\ line\nnext ≥ µs ×");
        m.put("i", 42);
        m.put("l", 1L << 40);
        m.put("d", 1234.5678);
        m.put("small", 0.000123456789);
        m.put("whole", 5.0);
        m.put("nan", Double.NaN);
        m.put("inf", Double.POSITIVE_INFINITY);
        m.put("f", 0.25f);
        m.put("b", true);
        m.put("n", null);
        m.put("list", List.of(1, "two", List.of()));
        m.put("empty", Map.of());
        assertEquals("""
                {
                  "s": "a \\"quoted\\" \\\\ line\\nnext ≥ µs ×",
                  "i": 42,
                  "l": 1099511627776,
                  "d": 1234.57,
                  "small": 0.000123457,
                  "whole": 5,
                  "nan": null,
                  "inf": null,
                  "f": 0.25,
                  "b": true,
                  "n": null,
                  "list": [
                    1,
                    "two",
                    []
                  ],
                  "empty": {}
                }
                """, ReportJson.write(m));
        Object back = ReportJson.read(ReportJson.write(m));
        assertTrue(back instanceof LinkedHashMap<?, ?>, "insertion order kept");
        assertEquals(new ArrayList<>(m.keySet()), new ArrayList<>(((Map<?, ?>) back).keySet()));
    }

    @Test
    void brokenInputIsAnIllegalArgument() {
        for (String bad : List.of("{\"a\": 1", "[1, 2] x", "{a: 1}")) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class, () -> ReportJson.read(bad), bad);
            assertTrue(e.getMessage().startsWith("not JSON: "), e.getMessage());
        }
    }

    /** Every field path in {@code node}, array elements as [] (so a path is a field name's place). */
    private static TreeSet<String> paths(JsonNode node, String prefix) {
        TreeSet<String> out = new TreeSet<>();
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String p = prefix + "/" + e.getKey();
                out.add(p);
                out.addAll(paths(e.getValue(), p));
            }
        } else if (node.isArray()) {
            for (JsonNode element : node) {
                out.addAll(paths(element, prefix + "[]"));
            }
        }
        return out;
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
