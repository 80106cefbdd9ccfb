/**
 * Where logits become an answer: {@link io.ultralong.runtime.generate.Sampler} picks tokens,
 * {@link io.ultralong.runtime.generate.IncrementalDetokenizer} turns them into text pieces that never split a
 * character, {@link io.ultralong.runtime.generate.Generator} runs the loop and decides when to stop, and
 * {@link io.ultralong.runtime.generate.ChatFormat} alone knows the Llama 3.1 prompt layout. Nothing here touches
 * DJL: the model is reached through {@link io.ultralong.runtime.generate.Generator.Step}.
 */
package io.ultralong.runtime.generate;
