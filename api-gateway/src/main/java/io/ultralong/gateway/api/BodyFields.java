package io.ultralong.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Strictly typed, ranged fields of a JSON request body. Jackson's data binding would coerce
 * {@code "5"} to 5, truncate {@code 1e10} or {@code 2.5} to an int, and {@code JsonNode.asInt()}
 * wraps {@code 4294967297} around to 1; here a field is taken only as what it is, and every refusal
 * names the field.
 */
final class BodyFields {

    private BodyFields() {
    }

    /** An optional integer within [min, max]: a JSON integer literal, never a string, fraction or exponent form. */
    static Long integer(JsonNode body, String field, long min, long max) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber()) {
            throw ApiException.badRequest("\"" + field + "\" must be an integer between " + min + " and " + max
                    + "; got " + value + ".");
        }
        if (!value.canConvertToLong() || value.longValue() < min || value.longValue() > max) {
            throw ApiException.badRequest("\"" + field + "\" must be between " + min + " and " + max + "; got "
                    + value + ".");
        }
        return value.longValue();
    }

    /** An optional finite number within [min, max] ({@code minExclusive}: above min). */
    static Double number(JsonNode body, String field, double min, boolean minExclusive, double max) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        String range = (minExclusive ? "(" : "[") + min + ", " + max + "]";
        if (!value.isNumber()) {
            throw ApiException.badRequest("\"" + field + "\" must be a number in " + range + "; got " + value + ".");
        }
        double number = value.doubleValue();   // 1e400 becomes Infinity here: refused below
        if (!Double.isFinite(number) || number > max || (minExclusive ? number <= min : number < min)) {
            throw ApiException.badRequest("\"" + field + "\" must be a finite number in " + range + "; got "
                    + value + ".");
        }
        return number;
    }

    /** An optional string. */
    static String text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw ApiException.badRequest("\"" + field + "\" must be a string; got " + value + ".");
        }
        return value.textValue();
    }

    /** An optional boolean. */
    static Boolean bool(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isBoolean()) {
            throw ApiException.badRequest("\"" + field + "\" must be true or false; got " + value + ".");
        }
        return value.booleanValue();
    }

    static Integer toInt(Long value) {
        return value == null ? null : Math.toIntExact(value);
    }
}
