package io.ultralong.evaluation.haystack;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The haystack's filler: varied English sentences shipped with the project (generated once from a
 * template grammar; no downloads). It holds no digits and none of the needles' vocabulary, so any
 * number or variable name in an answer can only have come from a needle.
 *
 * <p>A haystack longer than the corpus walks it repeatedly, each pass in a different seeded order,
 * so long haystacks do not repeat in a fixed period the model could latch onto.
 */
public final class FillerCorpus {

    private static final String RESOURCE = "/io/ultralong/evaluation/filler-corpus.txt";

    private final List<String> sentences;

    public FillerCorpus(List<String> sentences) {
        if (sentences.isEmpty()) {
            throw new IllegalArgumentException("A filler corpus needs at least one sentence");
        }
        this.sentences = List.copyOf(sentences);
    }

    /** The corpus bundled as a resource. */
    public static FillerCorpus bundled() {
        try (InputStream in = FillerCorpus.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("Missing resource " + RESOURCE);
            }
            List<String> lines = new ArrayList<>();
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    lines.add(line.strip());
                }
            }
            return new FillerCorpus(lines);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public List<String> sentences() {
        return sentences;
    }

    /** An endless, deterministic walk over the corpus: pass {@code p} is shuffled with {@code seed + p}. */
    public SentenceStream stream(long seed) {
        return new SentenceStream(seed);
    }

    /** The sentences of a haystack, in order. */
    public final class SentenceStream {
        private final long seed;
        private List<String> pass = List.of();
        private int passNumber = -1;
        private int next;

        private SentenceStream(long seed) {
            this.seed = seed;
        }

        public String peek() {
            if (next >= pass.size()) {
                List<String> shuffled = new ArrayList<>(sentences);
                passNumber++;
                Collections.shuffle(shuffled, new Random(seed + passNumber));
                pass = shuffled;
                next = 0;
            }
            return pass.get(next);
        }

        public String next() {
            String sentence = peek();
            next++;
            return sentence;
        }
    }
}
