package io.ultralong.gateway;

import java.time.Duration;
import java.util.List;
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

        /**
         * Keys given by their SHA-256 instead of in clear, as {@code <tenant>:<64 hex digits>} entries
         * (comma-separated in {@code UL_AUTH_API_KEY_HASHES}); {@code scripts/api-key.sh} makes one.
         */
        Optional<List<String>> apiKeyHashes();

        /**
         * Host names (the Host header without its port) the gateway answers; others get 403, which stops DNS
         * rebinding. Absent: only loopback names while authentication is off, any host while it is on.
         */
        Optional<List<String>> allowedHosts();

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

        /** Most messages one chat completion request may carry ({@code messages}); more answer 400. */
        @WithDefault("256")
        int maxChatMessages();

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

        /**
         * Requests one tenant may have in progress at once, open streams included; more answer 429
         * {@code too-many-requests}. Bounds what one tenant holds of the gateway whatever its number of keys.
         */
        @WithDefault("128")
        int maxInFlightPerTenant();

        /**
         * Server-Sent Event streams (watch events, streamed queries and chat completions) one tenant may hold open at
         * once; more answer 429 {@code too-many-streams}. Streams hold no thread, but each holds a connection and a
         * subscription.
         */
        @WithDefault("64")
        int maxStreamsPerTenant();

        /** Watches one tenant may have over all its sessions; more answer 429 {@code too-many-watches}. */
        @WithDefault("100")
        int maxWatchesPerTenant();

        /**
         * Smallest {@code trigger.everyTokens} of a watch, and its value when absent: a smaller one answers 400. A
         * watch re-evaluated on every few tokens would keep the model busy for one tenant.
         */
        @WithDefault("256")
        long minEveryTokens();
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
