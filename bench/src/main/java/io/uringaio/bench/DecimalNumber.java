package io.uringaio.bench;

import picocli.CommandLine;

import java.util.regex.Pattern;

/**
 * A command-line number as a user writes it: decimal, optionally with an exponent ("2", ".5", "5e-1"). Java's own
 * double syntax also takes a type suffix and hexadecimal, so "--seconds 1d" (a day?) would be 1 s and "0x1p3" 8 s:
 * those are mistakes. NaN and Infinity are let through to the option's range check, which says what the range is.
 */
public final class DecimalNumber implements CommandLine.ITypeConverter<Double> {
    private static final Pattern DECIMAL =
            Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?|NaN|[+-]?Infinity");

    /** Picocli makes one per option. */
    public DecimalNumber() {
    }

    @Override
    public Double convert(String value) {
        if (!DECIMAL.matcher(value).matches()) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a decimal number");
        }
        return Double.parseDouble(value);
    }
}
