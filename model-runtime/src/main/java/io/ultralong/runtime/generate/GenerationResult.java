package io.ultralong.runtime.generate;

/** finishReason: "stop" | "length" | "cancelled". (Contract type owned by the generation helper.) */
public record GenerationResult(int[] tokens, String text, String finishReason) { }
