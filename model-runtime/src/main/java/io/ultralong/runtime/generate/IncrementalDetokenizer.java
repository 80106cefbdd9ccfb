package io.ultralong.runtime.generate;

import java.util.Arrays;
import java.util.Set;

import io.ultralong.runtime.tokenizer.ModelTokenizer;

/**
 * Turns a stream of token ids into a stream of text pieces that never split a character.
 *
 * <p>A byte-level BPE token can end in the middle of a multi-byte UTF-8 character (an emoji is often two or
 * three tokens); decoding it alone yields U+FFFD. So each step decodes a short window of recent tokens
 * twice, without and with the newest ones, and emits only the difference; while the decoded window ends
 * in U+FFFD the text is held back until the following tokens complete the character. Decoding a window
 * (rather than each token alone) also keeps decoders that strip a leading space at the start of a string
 * (SentencePiece's) from eating the spaces between tokens. This is the scheme of vLLM's and HF's text
 * streamers.
 *
 * <p>Special tokens decode to nothing, and ignored ids (the stop tokens) are never fed to the decoder.
 */
public final class IncrementalDetokenizer {

    private static final char REPLACEMENT = '\uFFFD';

    private final ModelTokenizer tokenizer;
    private final Set<Integer> ignoredTokenIds;
    private int[] window = new int[16];
    private int size;
    /** Tokens before this index only give the decoder context; their text has been emitted. */
    private int prefixEnd;
    /** Tokens before this index have had their text emitted. */
    private int readEnd;

    public IncrementalDetokenizer(ModelTokenizer tokenizer, Set<Integer> ignoredTokenIds) {
        this.tokenizer = tokenizer;
        this.ignoredTokenIds = Set.copyOf(ignoredTokenIds);
    }

    /** The new text that {@code tokenId} completes: "" while a character is still incomplete. */
    public String next(int tokenId) {
        if (ignoredTokenIds.contains(tokenId)) {
            return "";
        }
        append(tokenId);
        String before = decode(prefixEnd, readEnd);
        String after = decode(prefixEnd, size);
        if (after.length() <= before.length() || after.charAt(after.length() - 1) == REPLACEMENT) {
            return "";
        }
        prefixEnd = readEnd;
        readEnd = size;
        compact();
        return after.substring(before.length());
    }

    /**
     * The complete characters still held back at the end of a generation; a trailing incomplete character
     * (U+FFFD from bytes the model never finished) is dropped rather than emitted broken.
     */
    public String finish() {
        String before = decode(prefixEnd, readEnd);
        String after = decode(prefixEnd, size);
        prefixEnd = readEnd = size;
        if (after.length() <= before.length()) {
            return "";
        }
        String pending = after.substring(before.length());
        int end = pending.length();
        while (end > 0 && pending.charAt(end - 1) == REPLACEMENT) {
            end--;
        }
        return pending.substring(0, end);
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(window, from, to), true);
    }

    private void append(int tokenId) {
        if (size == window.length) {
            window = Arrays.copyOf(window, size * 2);
        }
        window[size++] = tokenId;
    }

    /** Drops tokens that can no longer matter, so the window stays a few tokens long. */
    private void compact() {
        if (prefixEnd > 0) {
            System.arraycopy(window, prefixEnd, window, 0, size - prefixEnd);
            size -= prefixEnd;
            readEnd -= prefixEnd;
            prefixEnd = 0;
        }
    }
}
