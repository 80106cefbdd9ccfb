package io.ultralong.evaluation.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

import io.ultralong.evaluation.TestTokenizer;
import io.ultralong.evaluation.client.PlatformClient;
import io.ultralong.evaluation.haystack.FillerCorpus;
import io.ultralong.evaluation.haystack.HaystackBuilder;
import io.ultralong.evaluation.haystack.ModelTokenCounter;
import io.ultralong.evaluation.task.MultiKeyNiahTask;
import io.ultralong.evaluation.task.MultiValueNiahTask;
import io.ultralong.evaluation.task.PasskeyTask;
import io.ultralong.evaluation.task.VariableTrackingTask;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The driver end to end over HTTP against {@link FakePlatform}. */
class EvaluationRunnerTest {

    private static final List<Double> DEPTHS = IntStream.rangeClosed(0, 10).mapToObj(i -> i / 10.0).toList();

    private final ModelTokenCounter counter = TestTokenizer.counter();
    private final ByteArrayOutputStream progressBytes = new ByteArrayOutputStream();
    private FakePlatform platform;

    @BeforeEach
    void start() throws Exception {
        platform = new FakePlatform(counter);
    }

    @AfterEach
    void stop() {
        platform.close();
    }

    private EvaluationRunner runner(int batchRecords, boolean keepSessions) {
        PlatformClient client = new PlatformClient(platform.url(), FakePlatform.API_KEY, Duration.ofSeconds(30));
        return new EvaluationRunner(client, new HaystackBuilder(FillerCorpus.bundled(), counter),
                new Progress(new PrintStream(progressBytes, true, StandardCharsets.UTF_8), 0),
                new EvaluationRunner.Settings(16, batchRecords, 1 << 20, keepSessions, "t", 42));
    }

    private String progress() {
        return progressBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void labelledPasskeyStreamsEachLengthOnceAndReusesItsKvCacheAcrossDepths() {
        EvaluationResults results = runner(40, true).run("passkey", platform.url().toString(),
                List.of(new PasskeyTask(DEPTHS, PasskeyTask.Layout.LABELLED)), List.of(2048L, 1024L));

        assertThat(results.trials()).extracting(TrialResult::sessionId).containsExactly("t-passkey-1k", "t-passkey-2k");
        int expectedAppends = 0;
        for (TrialResult trial : results.trials()) {
            assertThat((double) trial.haystackTokens()).isCloseTo(trial.targetTokens(), within(trial.targetTokens() * 0.01));
            // What the platform received is exactly the haystack that was counted.
            assertThat(trial.platformTokens()).isEqualTo(trial.haystackTokens());
            assertThat(platform.sessions.get(trial.sessionId()).records).hasSize(trial.records());
            expectedAppends += (trial.records() + 39) / 40;
            assertThat(trial.probes()).hasSize(11);

            // First question prefills the haystack; the ten after it find it cached.
            List<ProbeResult> probes = trial.probes();
            assertThat(probes.get(0).usage().cachedTokens()).isZero();
            for (ProbeResult probe : probes.subList(1, probes.size())) {
                assertThat(probe.usage().cachedTokens()).isEqualTo(trial.haystackTokens());
                assertThat(probe.usage().prefilledTokens()).isEqualTo(counter.recordTokens(probe.question()));
            }
            long questionTokens = probes.stream().mapToLong(p -> counter.recordTokens(p.question())).sum();
            assertThat(results.kvReuseByLength().get(trial.targetTokens()))
                    .isEqualTo(10.0 * trial.haystackTokens() / (11.0 * trial.haystackTokens() + questionTokens));
        }
        assertThat(platform.appendRequests.get()).isEqualTo(expectedAppends);
        assertThat(platform.unauthorised.get()).isZero();

        // The fake misses exactly the needle in the middle, at both lengths.
        AccuracyGrid grid = results.depthGrid();
        assertThat(grid.rows()).containsExactly("0%", "10%", "20%", "30%", "40%", "50%", "60%",
                "70%", "80%", "90%", "100%");
        for (int r = 0; r < grid.rows().size(); r++) {
            double expected = grid.rows().get(r).equals("50%") ? 0.0 : 1.0;
            assertThat(grid.accuracy()[r]).containsExactly(expected, expected);
        }
        assertThat(results.accuracy()).isEqualTo(20.0 / 22);
        assertThat(results.model()).isEqualTo("tiny-test");
        assertThat(results.demoModel()).isTrue();

        assertThat(progress())
                .contains("lengths done 1/2 (1K)", "lengths done 2/2 (2K)", "accuracy so far 20/22 (90.9%)")
                .contains(String.format("streamed %,d/%,d tokens (100%%)", results.trials().get(0).haystackTokens(),
                        results.trials().get(0).haystackTokens()))
                .contains("MISS depth 50%");
    }

    @Test
    void singleLayoutUsesASessionPerDepthAndDeletesThem() {
        EvaluationResults results = runner(1000, false).run("passkey", platform.url().toString(),
                List.of(new PasskeyTask(List.of(0.1, 0.5, 0.9), PasskeyTask.Layout.SINGLE)), List.of(1024L));

        assertThat(results.trials()).extracting(TrialResult::sessionId)
                .containsExactly("t-passkey-1k-0", "t-passkey-1k-1", "t-passkey-1k-2");
        assertThat(results.probes()).extracting(ProbeResult::correct).containsExactly(true, false, true);
        // Fresh sessions: nothing was cached for any of them (the fake shares no prefixes).
        assertThat(results.kvReuse()).isZero();
        assertThat(platform.deleted).containsExactlyInAnyOrder("t-passkey-1k-0", "t-passkey-1k-1", "t-passkey-1k-2");
        assertThat(platform.sessions).isEmpty();
    }

    @Test
    void rulerTasksAreScoredEndToEnd() {
        EvaluationResults results = runner(1000, false).run("ruler", platform.url().toString(),
                List.of(new MultiKeyNiahTask(4), new MultiValueNiahTask(2, 3), new VariableTrackingTask(2, 3)),
                List.of(2048L));

        AccuracyGrid grid = results.taskGrid();
        assertThat(grid.rows()).containsExactly("multikey", "multivalue", "vartrack");
        assertThat(grid.accuracy()).isDeepEqualTo(new double[][] {{1.0}, {1.0}, {1.0}});
        assertThat(results.trials()).extracting(t -> t.probes().size()).containsExactly(4, 2, 2);
        assertThat(results.probes()).allSatisfy(p -> assertThat(p.recall()).isEqualTo(1.0));
    }

    @Test
    void aTimedOutQuestionCountsAsWrongAndTheSweepGoesOn() {
        platform.timeOutQuestionsContaining = "pass key?";
        EvaluationResults results = runner(1000, false).run("passkey", platform.url().toString(),
                List.of(new PasskeyTask(List.of(0.1, 0.9), PasskeyTask.Layout.SINGLE)), List.of(1024L, 2048L));

        assertThat(results.probes()).hasSize(4).allSatisfy(probe -> {
            assertThat(probe.correct()).isFalse();
            assertThat(probe.error()).contains("504", "deadline-exceeded");
            assertThat(probe.usage()).isEqualTo(PlatformClient.Usage.NONE);
        });
        assertThat(progress()).contains("lengths done 2/2 (2K)", "accuracy so far 0/4 (0.0%)");
    }

    @Test
    void aRefusedAppendStopsTheRunWithThePlatformsAnswer() {
        PlatformClient unauthorised = new PlatformClient(platform.url(), null, Duration.ofSeconds(5));
        EvaluationRunner runner = new EvaluationRunner(unauthorised, new HaystackBuilder(FillerCorpus.bundled(), counter),
                new Progress(new PrintStream(progressBytes, true, StandardCharsets.UTF_8), 0),
                new EvaluationRunner.Settings(16, 1000, 1 << 20, true, "u", 1));

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runner.run("passkey", "x",
                        List.of(new PasskeyTask(List.of(0.5), PasskeyTask.Layout.LABELLED)), List.of(1024L)))
                .isInstanceOf(PlatformClient.PlatformException.class)
                .hasMessageContaining("401");
    }
}
