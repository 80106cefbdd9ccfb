package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.generate.ChatFormat;
import io.ultralong.runtime.generate.GenerationParams;
import io.ultralong.runtime.generate.GenerationResult;
import io.ultralong.runtime.generate.StopTokens;
import io.ultralong.runtime.generate.TokenListener;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker on a real broker with the generated tiny model (greedy decoding): its answers equal the
 * runtime's own generation over the same prompt, each query prefills only what no cache holds, and
 * a restarted worker takes the KV prefix back from its context store.
 */
@ExtendWith(KafkaBrokerExtension.class)
class WorkerAnswerTest {

    static final int BLOCK = 32;   // WorkerHarness.model: 32-token KV blocks, 64-token prefill chunks

    @TempDir
    static Path models;
    static Path modelDir;
    static LlamaRuntime direct;
    static ModelTokenizer tokenizer;

    @BeforeAll
    static void model() {
        modelDir = SyntheticModelWriter.write(models.resolve("tiny"), SyntheticModelSpec.tiny());
        direct = LlamaRuntime.load(ModelDirectory.resolve(modelDir), new RuntimeOptions("cpu", 64, BLOCK, 1024));
        tokenizer = direct.tokenizer();
    }

    @AfterAll
    static void close() {
        direct.close();
    }

    @Test
    void answersEqualDirectGenerationAndPrefillOnlyWhatIsNew(KafkaBroker broker, @TempDir Path data) throws Exception {
        String session = "acme/app-log";
        List<String> records = List.of(
                "[2026-11-25T10:00:00Z] api: started on port 8080\n",
                "[2026-11-25T10:00:01Z] api: connected to the database ✓\n",
                "[2026-11-25T10:00:05Z] worker: ERROR timeout after 30 s, retrying (attempt 2 of 5)\n");
        String question = "What failed?";
        try (WorkerHarness harness = new WorkerHarness(broker);
             Worker worker = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), WorkerHarness.model(modelDir))) {
            int[] context = new int[0];
            long lastSeq = -1;
            for (String record : records) {
                int[] tokens = tokenizer.encode(record);
                lastSeq = harness.append(session, tokens);
                context = concat(context, tokens);
            }

            ResponseEvent.Done first = done(harness.terminal(harness.ask(session, question, lastSeq, 12), Duration.ofSeconds(60)));
            Expected expected = generate(context, question, 12);
            assertThat(first.answer()).isEqualTo(expected.text);
            assertThat(first.usage()).isEqualTo(new ResponseEvent.Usage(expected.promptTokens, 0, expected.promptTokens, expected.completionTokens));
            assertThat(first.demoModel()).isFalse();

            // D more tokens: the next query computes exactly those and the question.
            int[] more = tokenizer.encode("[2026-11-25T10:00:09Z] worker: recovered, 17 jobs done\n");
            lastSeq = harness.append(session, more);
            context = concat(context, more);
            String secondId = harness.ask(session, question, lastSeq, 12);
            ResponseEvent.Done second = done(harness.terminal(secondId, Duration.ofSeconds(60)));
            Expected expectedSecond = generate(context, question, 12);
            int cachedBefore = expected.sessionTokens;   // chat prefix + first context, all in memory
            assertThat(second.answer()).isEqualTo(expectedSecond.text);
            assertThat(second.usage().cachedTokens()).isEqualTo(cachedBefore);
            assertThat(second.usage().prefilledTokens()).isEqualTo(more.length + expectedSecond.suffixTokens);
            assertThat(second.usage().contextTokens()).isEqualTo(expectedSecond.promptTokens);

            // The streamed pieces make up the answer, numbered from 0 without gaps; progress reached its total.
            List<ResponseEvent> events = harness.events(secondId);
            List<ResponseEvent.Token> tokens = events.stream().filter(ResponseEvent.Token.class::isInstance)
                    .map(ResponseEvent.Token.class::cast).toList();
            assertThat(tokens).extracting(ResponseEvent.Token::index)
                    .containsExactlyElementsOf(java.util.stream.LongStream.range(0, tokens.size()).boxed().toList());
            assertThat(String.join("", tokens.stream().map(ResponseEvent.Token::text).toList())).isEqualTo(second.answer());
            assertThat(events).filteredOn(ResponseEvent.Progress.class::isInstance).last()
                    .isEqualTo(new ResponseEvent.Progress(secondId, second.usage().prefilledTokens(), second.usage().prefilledTokens()));
        }

    }

    @Test
    void aRestartedWorkerRestoresTheKvPrefixFromItsStore(KafkaBroker broker, @TempDir Path data) throws Exception {
        String session = "acme/restart";
        String question = "Summarise.";
        try (WorkerHarness harness = new WorkerHarness(broker)) {
            int[] context = tokenizer.encode("[2026-11-25T11:00:00Z] db: checkpoint complete; 4,096 pages written, 12 ms\n".repeat(4));
            long seq = harness.append(session, context);
            Expected expected = generate(context, question, 8);
            try (Worker worker = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), WorkerHarness.model(modelDir))) {
                ResponseEvent.Done done = done(harness.terminal(harness.ask(session, question, seq, 8), Duration.ofSeconds(60)));
                assertThat(done.answer()).isEqualTo(expected.text);
                assertThat(done.usage().cachedTokens()).isZero();
            }
            try (Worker restarted = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), WorkerHarness.model(modelDir))) {
                ResponseEvent.Done done = done(harness.terminal(harness.ask(session, question, seq, 8), Duration.ofSeconds(60)));
                // Every cached token comes back: the full blocks and the unfinished last one; only the question is new.
                int restoredTokens = expected.sessionTokens;
                assertThat(restoredTokens % BLOCK).as("the session ends inside a block").isPositive();
                assertThat(done.answer()).isEqualTo(expected.text);
                assertThat(done.usage().cachedTokens()).isEqualTo(restoredTokens);
                assertThat(done.usage().prefilledTokens()).isEqualTo(expected.promptTokens - restoredTokens);
                assertThat(restarted.store().statistics().kvBlockHits()).isEqualTo(restoredTokens / BLOCK + 1);
            }
        }
    }

    @Test
    void aQueryWaitsForItsRecordsAndAnsweringAnEmptySessionWorks(KafkaBroker broker, @TempDir Path data) throws Exception {
        try (WorkerHarness harness = new WorkerHarness(broker);
             Worker worker = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), WorkerHarness.model(modelDir))) {
            // Created with no record (POST /v1/sessions): an answer over the empty context, as the model gives it.
            long created = harness.create("acme/empty", "{}");
            ResponseEvent.Done empty = done(harness.terminal(harness.ask("acme/empty", "Anything?", created, 4), Duration.ofSeconds(60)));
            assertThat(empty.answer()).isEqualTo(generate(new int[0], "Anything?", 4).text);

            // minSeq ahead of the session: the query parks until the record arrives, then sees it.
            String id = harness.ask("acme/late", "Which port?", 7, 6);
            int[] record = tokenizer.encode("[2026-11-25T12:00:00Z] api: listening on 9090\n");
            harness.append("acme/late", record);
            ResponseEvent.Done late = done(harness.terminal(id, Duration.ofSeconds(60)));
            assertThat(late.answer()).isEqualTo(generate(record, "Which port?", 6).text);
            assertThat(late.usage().contextTokens()).isEqualTo(generate(record, "Which port?", 6).promptTokens);

            // A record that never arrives (ingest rejected it): the deadline ends the wait with a pointer to the DLQ.
            ResponseEvent never = harness.terminal(harness.ask("acme/late", "Which port?", 5007, 6, Duration.ofSeconds(2)),
                    Duration.ofSeconds(30));
            assertThat(never).isInstanceOf(ResponseEvent.Error.class);
            assertThat(((ResponseEvent.Error) never).code()).isEqualTo("deadline-exceeded");
            assertThat(((ResponseEvent.Error) never).message()).contains("seq 5007 (applied so far: 7)", "ul.records.dlq");
        }
    }

    private static ResponseEvent.Done done(ResponseEvent event) {
        assertThat(event).isInstanceOf(ResponseEvent.Done.class);
        return (ResponseEvent.Done) event;
    }

    /** What the runtime generates, greedily, over the prompt the worker builds. */
    record Expected(String text, int promptTokens, int sessionTokens, int suffixTokens, int completionTokens) {
    }

    static Expected generate(int[] context, String question, int maxTokens) {
        ChatFormat chat = new ChatFormat(tokenizer);
        int[] session = concat(chat.sessionPrefix(ModelSettings.DEFAULT_SYSTEM_PROMPT), context);
        int[] suffix = chat.questionSuffix(question);
        int[] prompt = concat(session, suffix);
        Set<Integer> stops = StopTokens.of(ModelDirectory.resolve(modelDir), tokenizer);
        try (KvCache cache = direct.newCache()) {
            float[] logits = direct.prefill(cache, prompt, PrefillListener.NONE);
            GenerationResult result = direct.generate(cache, logits, new GenerationParams(maxTokens, 0.0, 1.0, 0, 1L, stops),
                    TokenListener.NONE);
            return new Expected(result.text(), prompt.length, session.length, suffix.length, result.answerTokens().length);
        }
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
