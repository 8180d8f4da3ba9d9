package io.uringaio.bench.harness;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.MathContext;

/**
 * {@code report.json}'s layout through Jackson: two-space indentation, {@code "key": value}, {@code {}} and
 * {@code []} when empty, a newline at the end; a {@code double} rounded to 6 significant digits (written as an
 * integer when it is one), NaN and infinities as {@code null}, since a ratio or latency that was not measured is NaN.
 */
final class ReportJson {
    private static final MathContext SIX_DIGITS = new MathContext(6);
    /** Below this an integral double is written as a whole number; above, Long could not hold it exactly. */
    private static final double WHOLE_LIMIT = 1e15;

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS) // one value per text, as fio and the report write
            .registerModule(new SimpleModule("report-numbers")
                    .addSerializer(Double.class, new DoubleSerializer())
                    .addSerializer(Float.class, new FloatSerializer()));

    private static final DefaultPrettyPrinter LAYOUT = new DefaultPrettyPrinter(Separators.createDefaultInstance()
            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
            .withObjectEmptySeparator("")
            .withArrayEmptySeparator(""))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n"));

    private ReportJson() {
    }

    /** {@code tree} (maps, lists, strings, numbers, booleans, null) as report.json text. */
    static String write(Object tree) {
        try {
            return MAPPER.writer(LAYOUT).writeValueAsString(tree) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException("cannot write the report as JSON", e);
        }
    }

    /** JSON text as maps (insertion-ordered), lists, strings, numbers, booleans and null. */
    static Object read(String text) {
        try {
            return MAPPER.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** JSON text as Jackson's tree. */
    static JsonNode tree(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** A number node's value, NaN when the node is missing, null or not a number. */
    static double number(JsonNode node) {
        return node != null && node.isNumber() ? node.doubleValue() : Double.NaN;
    }

    private static void writeDouble(double d, JsonGenerator gen) throws IOException {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            gen.writeNull();
        } else if (d == Math.rint(d) && Math.abs(d) < WHOLE_LIMIT) {
            gen.writeNumber((long) d);
        } else {
            gen.writeNumber(BigDecimal.valueOf(d).round(SIX_DIGITS).stripTrailingZeros());
        }
    }

    private static final class DoubleSerializer extends StdSerializer<Double> {
        DoubleSerializer() {
            super(Double.class);
        }

        @Override
        public void serialize(Double value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            writeDouble(value, gen);
        }
    }

    private static final class FloatSerializer extends StdSerializer<Float> {
        FloatSerializer() {
            super(Float.class);
        }

        @Override
        public void serialize(Float value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            writeDouble(value, gen);
        }
    }
}
