/**
 * The model runtime's command line ({@code logits}, {@code generate}, {@code inspect}): a thin picocli layer over
 * {@link io.ultralong.runtime.engine.LlamaRuntime}, {@link io.ultralong.runtime.generate} and
 * {@link io.ultralong.runtime.model.ModelInspection}. Results on stdout, logs on stderr, exit code 2 for the
 * caller's mistakes.
 */
package io.ultralong.runtime.cli;
