package io.ultralong.runtime.engine;

import io.ultralong.runtime.generate.GenerationParams;
import io.ultralong.runtime.generate.GenerationResult;
import io.ultralong.runtime.generate.TokenListener;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.tokenizer.ModelTokenizer;

/** A loaded Llama model on DJL: the facade the worker and the CLI use. */
public final class LlamaRuntime implements AutoCloseable {

    private LlamaRuntime() {
    }

    /** Loads config, tokenizer and weights onto the configured device; logs load progress per layer. */
    public static LlamaRuntime load(ModelDirectory model, RuntimeOptions options) {
        throw new UnsupportedOperationException("not yet");
    }

    public LlamaConfig config() {
        throw new UnsupportedOperationException("not yet");
    }

    public ModelTokenizer tokenizer() {
        throw new UnsupportedOperationException("not yet");
    }

    public RuntimeOptions options() {
        throw new UnsupportedOperationException("not yet");
    }

    /** e.g. "cpu()" / "gpu(0)". */
    public String device() {
        throw new UnsupportedOperationException("not yet");
    }

    /** "f32" on CPU, "f16" on CUDA. */
    public String kvDtype() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Digest identifying whose KV blocks are interchangeable: SHA-256 over config.json bytes, weight file
     * names+sizes (and the safetensors headers), kv dtype and kvBlockTokens; lowercase hex.
     */
    public String fingerprint() {
        throw new UnsupportedOperationException("not yet");
    }

    public KvCache newCache() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Appends tokens at positions cache.length()..; chunked by prefillChunkTokens; returns the logits (float32,
     * length vocab) of the LAST appended position.
     */
    public float[] prefill(KvCache cache, int[] tokens, PrefillListener listener) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Decoding loop on top of the cache (appends the generated tokens to it): see io.ultralong.runtime.generate. */
    public GenerationResult generate(KvCache cache, float[] lastLogits, GenerationParams params, TokenListener listener) {
        throw new UnsupportedOperationException("Generator is wired when the generation branch merges");
    }

    /** Export full block i (0-based) in the documented little-endian layout. */
    public byte[] exportBlock(KvCache cache, int blockIndex) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Imports one full block at the end (cache.length() must be a multiple of blockTokens); importing f32 bytes
     * into an f16 cache converts.
     */
    public void importBlock(KvCache cache, byte[] block) {
        throw new UnsupportedOperationException("not yet");
    }

    public long kvBytesPerToken() {
        throw new UnsupportedOperationException("not yet");
    }

    @Override
    public void close() {
    }
}
