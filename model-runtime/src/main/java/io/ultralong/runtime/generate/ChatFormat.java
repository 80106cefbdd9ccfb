package io.ultralong.runtime.generate;

import java.util.List;
import java.util.Objects;
import java.util.Set;

import io.ultralong.runtime.tokenizer.ModelTokenizer;

/**
 * The Llama 3.1 chat layout (DESIGN.md "Prompt layout"), the only place that knows it.
 *
 * <pre>
 * &lt;|begin_of_text|&gt;&lt;|start_header_id|&gt;system&lt;|end_header_id|&gt;\n\n{system}&lt;|eot_id|&gt;
 * &lt;|start_header_id|&gt;user&lt;|end_header_id|&gt;\n\n{context...}\n\n{question}&lt;|eot_id|&gt;
 * &lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n
 * </pre>
 *
 * <p>Special ids are looked up in the tokenizer, so a vocabulary that places them elsewhere (the synthetic
 * test tokenizer puts them at the end) works unchanged. Text between two special tokens is encoded as one
 * piece ("\n\n" together with the text after it), which is how HF's tokenizer splits the rendered template
 * around added tokens, so the ids equal those of {@code apply_chat_template} on the same layout.
 */
public final class ChatFormat {

    /** Roles the Llama 3.1 template knows. */
    public static final Set<String> ROLES = Set.of("system", "user", "assistant", "ipython", "tool");

    private final ModelTokenizer tokenizer;
    private final int beginOfText;
    private final int startHeader;
    private final int endHeader;
    private final int endOfTurn;

    public ChatFormat(ModelTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.beginOfText = tokenizer.requireSpecialTokenId("<|begin_of_text|>");
        this.startHeader = tokenizer.requireSpecialTokenId("<|start_header_id|>");
        this.endHeader = tokenizer.requireSpecialTokenId("<|end_header_id|>");
        this.endOfTurn = tokenizer.requireSpecialTokenId("<|eot_id|>");
    }

    public record Message(String role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
            if (!ROLES.contains(role)) {
                throw new IllegalArgumentException("Unknown chat role '" + role + "'; expected one of " + ROLES);
            }
        }
    }

    /** The cached head of a session: system turn, then an open user turn that the context tokens continue. */
    public int[] sessionPrefix(String systemPrompt) {
        return new Tokens()
                .add(beginOfText)
                .header("system").text("\n\n" + nullToEmpty(systemPrompt)).add(endOfTurn)
                .header("user").text("\n\n")
                .toArray();
    }

    /** A question on top of a session prefix and its context: closes the user turn and opens the assistant's. */
    public int[] questionSuffix(String question) {
        return new Tokens()
                .text("\n\n" + Objects.requireNonNull(question, "question")).add(endOfTurn)
                .header("assistant").text("\n\n")
                .toArray();
    }

    /**
     * A whole chat prompt: every message as a closed turn, ending with an open assistant header. Content is
     * trimmed, as the Llama 3.1 template does.
     */
    public int[] dialog(List<Message> messages) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("A chat prompt needs at least one message");
        }
        Tokens tokens = new Tokens().add(beginOfText);
        for (Message m : messages) {
            tokens.header(m.role()).text("\n\n" + m.content().strip()).add(endOfTurn);
        }
        return tokens.header("assistant").text("\n\n").toArray();
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    /** A growing id list that knows the header shape. */
    private final class Tokens {
        private int[] ids = new int[64];
        private int size;

        Tokens add(int id) {
            if (size == ids.length) {
                ids = java.util.Arrays.copyOf(ids, size * 2);
            }
            ids[size++] = id;
            return this;
        }

        Tokens text(String text) {
            for (int id : tokenizer.encode(text)) {
                add(id);
            }
            return this;
        }

        Tokens header(String role) {
            return add(startHeader).text(role).add(endHeader);
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(ids, size);
        }
    }
}
