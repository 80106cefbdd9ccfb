package io.ultralong.platform;

import java.util.Optional;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import io.ultralong.runtime.model.ModelResolver;
import io.ultralong.runtime.model.ResolvedModel;
import io.ultralong.runtime.synthetic.DemoModel;

/**
 * {@code java -jar platform/target/quarkus-app/quarkus-run.jar [--model DIR|org/name[@rev]] [--data-dir DIR] [--port N]
 * [--kafka-port N] [--device cpu|gpu|cuda:N|auto] [--partitions N]}: the whole platform in one process.
 * Options become configuration (system properties) before Quarkus starts, so that the gateway and
 * {@link EmbeddedPlatform} read one set of values.
 */
@QuarkusMain
public final class PlatformMain {

    private PlatformMain() {
    }

    public static void main(String... args) {
        Optional<String> model = Optional.empty();
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--model" -> model = Optional.of(require(args[i], value));
                case "--data-dir" -> System.setProperty("ul.embedded.data-dir", require(args[i], value));
                case "--port" -> System.setProperty("quarkus.http.port", require(args[i], value));
                case "--kafka-port" -> System.setProperty("ul.embedded.kafka-port", require(args[i], value));
                case "--device" -> System.setProperty("ul.embedded.device", require(args[i], value));
                case "--partitions" -> System.setProperty("ul.embedded.partitions", require(args[i], value));
                case "--help", "-h" -> {
                    System.out.println(usage());
                    return;
                }
                default -> {
                    System.err.println("Unknown option " + args[i] + "\n" + usage());
                    System.exit(2);
                }
            }
            i++;
        }
        Optional<ResolvedModel> located;
        try {
            located = PlatformModel.choose(model, System.getenv(), ModelResolver.fromEnvironment());
        } catch (RuntimeException e) {
            System.err.println("Cannot use the model: " + e.getMessage());
            System.exit(1);
            return;
        }
        located.ifPresent(found -> {
            System.setProperty("ul.embedded.model-dir", found.directory().toString());
            // the API names the model by its hub id (or directory name) unless the operator chose a name
            if (System.getenv("UL_MODEL_ID") == null && System.getProperty("ul.model-id") == null) {
                System.setProperty("ul.model-id", found.id());
            }
            if (System.getenv("UL_WORKER_MODEL_ID") == null && System.getProperty("ul.worker.model-id") == null) {
                System.setProperty("ul.worker.model-id", found.id());
            }
        });
        if (located.isEmpty()) {
            System.setProperty("ul.model-id", DemoModel.ID);
            System.setProperty("ul.demo-model", "true");
        }
        // The services' own application.properties come along in their jars, at the same ordinal as the
        // platform's: pin the platform's values above them (an option or environment variable still wins),
        // and let the gateway's "ul" mapping tolerate the other services' ul.* keys.
        System.setProperty("smallrye.config.mapping.validate-unknown", "false");
        System.setProperty("quarkus.application.name", "ultralong-stream");
        pin("quarkus.http.port", "QUARKUS_HTTP_PORT", "8080");
        pin("ul.auth.enabled", "UL_AUTH_ENABLED", "false");
        String kafkaPort = System.getProperty("ul.embedded.kafka-port", "9092");
        System.setProperty("kafka.bootstrap.servers", "localhost:" + kafkaPort);
        Quarkus.run(args);
    }

    /** Sets {@code key} as a system property unless an option already did; its environment variable wins over the default. */
    private static void pin(String key, String environmentVariable, String defaultValue) {
        if (System.getProperty(key) == null) {
            String fromEnvironment = System.getenv(environmentVariable);
            System.setProperty(key, fromEnvironment != null ? fromEnvironment : defaultValue);
        }
    }

    private static String require(String option, String value) {
        if (value == null || value.startsWith("--")) {
            System.err.println(option + " needs a value\n" + usage());
            System.exit(2);
        }
        return value;
    }

    private static String usage() {
        return """
                Usage: java -jar platform/target/quarkus-app/quarkus-run.jar [options]
                  --model REF        a model directory, a HF hub cache folder (models--org--name) or a hub id
                                     org/name[@revision], downloaded into the HF cache when absent (default:
                                     $UL_MODEL_DIR, $UL_MODEL, an UltraLong model in the HF cache, else a
                                     built-in demo model with random weights). HF_TOKEN, HF_HOME, HF_HUB_CACHE,
                                     HF_ENDPOINT and HF_HUB_OFFLINE apply as in huggingface_hub.
                  --data-dir DIR     broker log, context store and ingest state (default: ./ultralong-data)
                  --port N           HTTP port of the API (default: 8080)
                  --kafka-port N     port of the embedded Kafka broker (default: 9092)
                  --device D         cpu, gpu, cuda:N or auto (default: auto)
                  --partitions N     partitions of new topics (default: 8)""";
    }
}
