package io.ultralong.ingest.service;

import java.util.EnumMap;
import java.util.Map;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.ultralong.ingest.IngestMetrics;
import io.ultralong.protocol.records.RejectReason;

/** {@link IngestMetrics} as Micrometer counters: {@code ul_ingest_records_total}, {@code ..._tokens_total}, ... */
final class MicrometerIngestMetrics implements IngestMetrics {

    private final Counter records;
    private final Counter chunks;
    private final Counter tokens;
    private final Counter deletes;
    private final Counter duplicates;
    private final Map<RejectReason, Counter> rejected = new EnumMap<>(RejectReason.class);

    MicrometerIngestMetrics(MeterRegistry registry) {
        records = Counter.builder("ul.ingest.records").description("Valid records tokenized").register(registry);
        chunks = Counter.builder("ul.ingest.chunks").description("Chunks produced to ul.tokens").register(registry);
        tokens = Counter.builder("ul.ingest.tokens").description("Tokens produced to ul.tokens").register(registry);
        deletes = Counter.builder("ul.ingest.deletes").description("Sessions deleted by a tombstone").register(registry);
        duplicates = Counter.builder("ul.ingest.duplicates")
                .description("Records dropped because their session already had their record id").register(registry);
        for (RejectReason reason : RejectReason.values()) {
            rejected.put(reason, Counter.builder("ul.ingest.rejected").tag("reason", reason.code())
                    .description("Records sent to the DLQ").register(registry));
        }
    }

    @Override
    public void recordTokenized(int chunkCount, int tokenCount) {
        records.increment();
        chunks.increment(chunkCount);
        tokens.increment(tokenCount);
    }

    @Override
    public void recordRejected(RejectReason reason) {
        rejected.get(reason).increment();
    }

    @Override
    public void sessionDeleted() {
        deletes.increment();
    }

    @Override
    public void recordDuplicate() {
        duplicates.increment();
    }
}
