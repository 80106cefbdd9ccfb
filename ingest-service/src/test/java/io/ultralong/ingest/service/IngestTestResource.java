package io.ultralong.ingest.service;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.ultralong.ingest.TestTokenizer;
import io.ultralong.testkit.KafkaBroker;

/** Points the service at the generated tokenizer, its own topic prefix, application id and state directory. */
public final class IngestTestResource implements QuarkusTestResourceLifecycleManager {

    static final String PREFIX = KafkaBroker.uniqueName("svc") + ".";

    @Override
    public Map<String, String> start() {
        try {
            return Map.of(
                    "ul.ingest.tokenizer", TestTokenizer.directory().toString(),
                    "ul.topics.prefix", PREFIX,
                    "ul.ingest.application-id", KafkaBroker.uniqueName("ingest-svc"),
                    "ul.ingest.state-dir", Files.createTempDirectory("ul-ingest-svc-").toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void stop() {
        // The broker and temp files belong to the test JVM.
    }
}
