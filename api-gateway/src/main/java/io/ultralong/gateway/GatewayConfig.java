package io.ultralong.gateway;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Settings of the gateway, under {@code ul.*}; each can be set by environment variable (e.g. {@code UL_AUTH_ENABLED}). */
@ConfigMapping(prefix = "ul")
public interface GatewayConfig {

    Topics topics();

    Auth auth();

    Limits limits();

    Query query();

    /** The model id shown by {@code /v1/models} and in answers. */
    @WithDefault("ultralong-8b")
    String modelId();

    /** Whether the workers run the built-in demo model (random weights): {@code /v1/models} then says so. */
    @WithDefault("false")
    boolean demoModel();

    interface Topics {
        /** Prefix of every topic name: {@code <prefix>records}, {@code <prefix>requests}, ... */
        @WithDefault("ul.")
        String prefix();
    }

    interface Auth {
        /** Whether a bearer API key is required. Switch off only on loopback (the embedded mode). */
        @WithDefault("true")
        boolean enabled();

        /** API key -> tenant, e.g. {@code ul.auth.api-keys."secret-1"=acme}. */
        Map<String, String> apiKeys();

        /** The tenant of every caller while authentication is off. */
        @WithDefault("default")
        String anonymousTenant();
    }

    interface Limits {
        /** Largest record after formatting, in bytes (the ingest service applies the same limit). */
        @WithDefault("1048576")
        int maxRecordBytes();

        /** Most records one append request may carry. */
        @WithDefault("10000")
        int maxRecordsPerRequest();

        /** Longest question, in characters. */
        @WithDefault("32768")
        int maxQuestionChars();

        /** Largest {@code maxTokens} a query may ask for. */
        @WithDefault("4096")
        int maxTokens();

        /**
         * Longest watch {@code notifyWhen} pattern, in characters (RE2 syntax; at most
         * {@value io.ultralong.protocol.watch.NotifyPattern#HARD_MAX_CHARS}, which workers enforce too).
         */
        @WithDefault("512")
        int maxNotifyWhenChars();

        /** Requests per second allowed per API key (token bucket); 0 switches the limit off. */
        @WithDefault("50")
        double requestsPerSecond();

        /** Requests a key may send at once above the steady rate. */
        @WithDefault("100")
        int burst();
    }

    interface Query {
        /** How long a query may take end to end before it answers 504. */
        @WithDefault("PT120S")
        Duration timeout();

        /** Default {@code maxTokens} of a query. */
        @WithDefault("256")
        int defaultMaxTokens();

        /** System prompt override; absent uses the worker's. */
        Optional<String> systemPrompt();
    }
}
