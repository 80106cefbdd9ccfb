package io.ultralong.evaluation.run;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import io.ultralong.evaluation.client.PlatformClient;
import io.ultralong.evaluation.client.PlatformClient.Usage;
import io.ultralong.evaluation.haystack.Haystack;
import io.ultralong.evaluation.haystack.HaystackBuilder;
import io.ultralong.evaluation.task.ExactMatch;
import io.ultralong.evaluation.task.Probe;
import io.ultralong.evaluation.task.SyntheticTask;
import io.ultralong.evaluation.task.TrialPlan;

/**
 * Drives a running platform through its REST API: per length and task, builds each planned
 * haystack, streams it into a fresh session in batches of records, asks every probe over that one
 * session (so only the first query prefills the haystack; later ones reuse its KV cache and prefill
 * just their question), scores the answers and records the usage the platform reported.
 */
public final class EvaluationRunner {

    /**
     * @param maxTokens     answer budget per question
     * @param batchRecords  most records per append request
     * @param batchBytes    most text bytes per append request (the gateway caps a body at 16 MiB)
     * @param keepSessions  leave the sessions on the platform for inspection instead of deleting them
     * @param sessionPrefix session ids are {@code <prefix>-<task>-<length>[-<n>]}
     * @param seed          the filler order and every needle derive from it
     */
    public record Settings(int maxTokens, int batchRecords, long batchBytes, boolean keepSessions,
                           String sessionPrefix, long seed) {
    }

    private final PlatformClient client;
    private final HaystackBuilder haystacks;
    private final Progress progress;
    private final Settings settings;
    /** The model named by the first answer: what really answered, whatever {@code /v1/models} lists. */
    private String answeringModel;
    private boolean answeringDemoModel;

    public EvaluationRunner(PlatformClient client, HaystackBuilder haystacks, Progress progress, Settings settings) {
        this.client = client;
        this.haystacks = haystacks;
        this.progress = progress;
        this.settings = settings;
    }

    public EvaluationResults run(String command, String url, List<SyntheticTask> tasks, List<Long> lengths) {
        String started = Instant.now().toString();
        List<TrialResult> trials = new ArrayList<>();
        List<Long> ascending = lengths.stream().sorted().distinct().toList();
        for (int l = 0; l < ascending.size(); l++) {
            long length = ascending.get(l);
            for (SyntheticTask task : tasks) {
                // Needles depend on (seed, task, length) only, so a rerun asks the same questions.
                Random random = new Random(settings.seed() * 1_000_003L + task.name().hashCode() * 31L + length);
                List<TrialPlan> plans = task.plans(length, random);
                for (int p = 0; p < plans.size(); p++) {
                    String sessionId = settings.sessionPrefix() + "-" + task.name() + "-"
                            + AccuracyGrid.lengthLabel(length).toLowerCase(Locale.ROOT) + (plans.size() > 1 ? "-" + p : "");
                    trials.add(runTrial(plans.get(p), sessionId));
                }
            }
            progress.lengthDone(l + 1, ascending.size(), length);
        }
        return new EvaluationResults(command, url, answeringModel, answeringDemoModel, started, Instant.now().toString(),
                settings.seed(), List.copyOf(trials));
    }

    private TrialResult runTrial(TrialPlan plan, String sessionId) {
        // Every haystack of a run shares one filler order, so haystacks share prefixes up to their
        // first needle: a platform with a cross-session prefix cache can reuse them.
        Haystack haystack = haystacks.build(plan.targetTokens(), plan.insertions(), settings.seed());
        progress.trialStarted(plan.task(), plan.targetTokens(), haystack.totalTokens(), haystack.records().size(), sessionId);
        long streamStart = System.currentTimeMillis();
        long lastSeq = stream(sessionId, haystack, streamStart);
        long streamMillis = System.currentTimeMillis() - streamStart;
        progress.trialStreamed(haystack.totalTokens());

        List<ProbeResult> results = new ArrayList<>();
        for (Probe probe : plan.probes()) {
            Double depth = probe.needle() == null ? null : plan.insertions().get(probe.needle()).depth();
            Double actualDepth = probe.needle() == null ? null : haystack.placements().get(probe.needle()).actualDepth();
            long queryStart = System.currentTimeMillis();
            ProbeResult result;
            try {
                PlatformClient.Answer answer = client.query(sessionId, probe.question(), settings.maxTokens(), lastSeq);
                ExactMatch.Score score = ExactMatch.score(answer.answer(), probe.expected(), probe.distractors());
                result = new ProbeResult(probe.question(), probe.expected(), answer.answer(), score.correct(),
                        score.recall(), depth, actualDepth, answer.usage(), System.currentTimeMillis() - queryStart, null);
                if (answeringModel == null) {
                    answeringModel = answer.model();
                    answeringDemoModel = answer.demoModel();
                }
            } catch (PlatformClient.PlatformException e) {
                // One refused or timed-out question is a wrong answer, not the end of the sweep.
                result = new ProbeResult(probe.question(), probe.expected(), "", false, 0, depth, actualDepth,
                        Usage.NONE, System.currentTimeMillis() - queryStart, e.getMessage());
            }
            results.add(result);
            progress.probed(result);
        }
        Long platformTokens = client.session(sessionId)
                .map(session -> session.get("tokens"))
                .filter(JsonNode::isNumber)
                .map(JsonNode::asLong)
                .orElse(null);
        if (!settings.keepSessions()) {
            client.delete(sessionId);
        }
        return new TrialResult(plan.task(), sessionId, plan.targetTokens(), haystack.totalTokens(),
                haystack.records().size(), platformTokens, streamMillis, List.copyOf(results));
    }

    /** Appends the haystack's records in order, in bounded batches; returns the last acknowledged seq. */
    private long stream(String sessionId, Haystack haystack, long start) {
        List<String> records = haystack.records();
        long lastSeq = -1;
        long streamedTokens = 0;
        int from = 0;
        while (from < records.size()) {
            int to = from;
            long bytes = 0;
            long batchTokens = 0;
            while (to < records.size() && to - from < settings.batchRecords()) {
                // The JSON wrapper {"text":"..."} adds about 16 bytes a record.
                long recordBytes = records.get(to).getBytes(StandardCharsets.UTF_8).length + 16L;
                if (to > from && bytes + recordBytes > settings.batchBytes()) {
                    break;
                }
                bytes += recordBytes;
                batchTokens += haystack.recordTokens()[to];
                to++;
            }
            PlatformClient.AppendAck ack = client.append(sessionId, records.subList(from, to));
            if (ack.count() != to - from) {
                throw new IllegalStateException("The platform acknowledged " + ack.count() + " of " + (to - from)
                        + " records for " + sessionId);
            }
            lastSeq = ack.lastSeq();
            streamedTokens += batchTokens;
            progress.streamed(streamedTokens, haystack.totalTokens(), System.currentTimeMillis() - start);
            from = to;
        }
        return lastSeq;
    }
}
