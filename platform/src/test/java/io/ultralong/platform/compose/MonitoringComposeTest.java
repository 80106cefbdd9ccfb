package io.ultralong.platform.compose;

import static io.ultralong.platform.compose.DeploymentFiles.list;
import static io.ultralong.platform.compose.DeploymentFiles.map;
import static io.ultralong.platform.compose.DeploymentFiles.services;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * Static checks of the {@code monitoring} profile of {@code deploy/docker-compose.yml} (no Docker here):
 * Prometheus scrapes each service where it serves {@code /q/metrics}, Grafana is provisioned with that
 * Prometheus and the dashboard, and every metric the dashboard plots is one the code registers.
 */
class MonitoringComposeTest {

    private final Path deploy = DeploymentFiles.deployDir();
    private final Map<String, Map<String, Object>> services = services(DeploymentFiles.readYaml(DeploymentFiles.composeFile()));

    @Test
    void prometheusAndGrafanaStartOnlyWithTheMonitoringProfileFromPinnedImages() {
        for (String name : List.of("prometheus", "grafana")) {
            Map<String, Object> service = services.get(name);
            assertThat(service).as(name).isNotNull();
            assertThat(list(service, "profiles")).as(name).containsExactly("monitoring");
            assertThat(String.valueOf(service.get("image"))).as(name).matches("[a-z/]+:v?\\d+\\.\\d+\\.\\d+");
            assertThat(list(map(service, "healthcheck"), "test")).as(name).isNotEmpty();
        }
        assertThat(list(services.get("prometheus"), "volumes")).contains("./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro");
        assertThat(list(services.get("grafana"), "volumes")).containsExactly(
                "./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro",
                "./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro");
        assertThat(deploy.resolve("monitoring/grafana/provisioning")).isDirectory();
        assertThat(deploy.resolve("monitoring/grafana/dashboards/ultralong-stream.json")).isRegularFile();
    }

    @Test
    void prometheusScrapesEveryServiceOnThePortItsApplicationListensOn() throws IOException {
        Map<String, Object> prometheus = DeploymentFiles.readYaml(deploy.resolve("monitoring/prometheus.yml"));
        Map<String, String> targets = new java.util.HashMap<>();
        for (Object job : (List<?>) prometheus.get("scrape_configs")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> config = (Map<String, Object>) job;
            assertThat(config.get("metrics_path")).isEqualTo("/q/metrics");
            String target = config.containsKey("static_configs")
                    ? String.valueOf(((List<?>) ((Map<?, ?>) ((List<?>) config.get("static_configs")).get(0)).get("targets")).get(0))
                    : ((List<?>) ((Map<?, ?>) ((List<?>) config.get("dns_sd_configs")).get(0)).get("names")).get(0) + ":"
                            + ((Map<?, ?>) ((List<?>) config.get("dns_sd_configs")).get(0)).get("port");
            targets.put(String.valueOf(config.get("job_name")), target);
        }
        Path root = DeploymentFiles.repositoryRoot();
        assertThat(targets).containsOnlyKeys("gateway", "ingest", "worker");
        assertThat(targets.get("gateway")).isEqualTo("gateway:" + httpPort(root.resolve("api-gateway")));
        assertThat(targets.get("ingest")).isEqualTo("ingest:" + httpPort(root.resolve("ingest-service")));
        assertThat(targets.get("worker")).isEqualTo("worker:" + httpPort(root.resolve("inference-worker")));
        for (String target : targets.values()) {
            assertThat(services).containsKey(target.substring(0, target.indexOf(':')));
        }
    }

    @Test
    void grafanaIsProvisionedWithThePrometheusTheDashboardUses() throws IOException {
        Map<String, Object> datasources = DeploymentFiles.readYaml(deploy.resolve("monitoring/grafana/provisioning/datasources/prometheus.yml"));
        Map<?, ?> datasource = (Map<?, ?>) ((List<?>) datasources.get("datasources")).get(0);
        assertThat(datasource.get("type")).isEqualTo("prometheus");
        assertThat(datasource.get("url")).isEqualTo("http://prometheus:9090");
        Map<String, Object> providers = DeploymentFiles.readYaml(deploy.resolve("monitoring/grafana/provisioning/dashboards/ultralong.yml"));
        Map<?, ?> provider = (Map<?, ?>) ((List<?>) providers.get("providers")).get(0);
        assertThat(((Map<?, ?>) provider.get("options")).get("path")).isEqualTo("/var/lib/grafana/dashboards");

        JsonNode dashboard = new ObjectMapper().readTree(deploy.resolve("monitoring/grafana/dashboards/ultralong-stream.json").toFile());
        assertThat(dashboard.get("panels")).hasSizeGreaterThanOrEqualTo(8);
        for (JsonNode panel : dashboard.get("panels")) {
            assertThat(panel.at("/datasource/uid").asText()).as(panel.get("title").asText()).isEqualTo(datasource.get("uid"));
            assertThat(panel.get("targets")).as(panel.get("title").asText()).isNotEmpty();
        }
    }

    @Test
    void everyPlottedMetricIsOneTheServicesRegister() throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(deploy.resolve("monitoring/grafana/dashboards/ultralong-stream.json").toFile());
        Set<String> registered = registeredMetricNames();
        List<String> plotted = new ArrayList<>();
        Matcher metric = Pattern.compile("\\bul_[a-z_]+").matcher("");
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                metric.reset(target.get("expr").asText());
                while (metric.find()) {
                    plotted.add(metric.group());
                }
            }
        }
        // The issue's list: queue depth, prefill and decode tokens/s, TTFT, KV hit ratio and bytes by tier, ingest lag, DLQ.
        assertThat(plotted).contains("ul_worker_queue_depth_queries", "ul_worker_prefill_tokens_total", "ul_worker_decode_tokens_total",
                "ul_worker_ttft_seconds_bucket", "ul_worker_kv_lookups_total", "ul_worker_kv_bytes", "ul_ingest_lag_records",
                "ul_ingest_rejected_total");
        for (String name : plotted) {
            String base = name.replaceAll("_(total|bucket|count|sum)$", "");
            assertThat(registered.contains(base) || registered.contains(base.replaceAll("_seconds$", "")))
                    .as(name + " is registered by a service (one of " + registered + ")").isTrue();
        }
    }

    /** Micrometer names ({@code "ul.worker.kv.bytes"}) in the services' sources, as Prometheus spells them. */
    private static Set<String> registeredMetricNames() throws IOException {
        Set<String> names = new HashSet<>();
        Pattern literal = Pattern.compile("\\.builder\\(\"(ul\\.[a-z.]+)\"");
        Path root = DeploymentFiles.repositoryRoot();
        for (String module : List.of("api-gateway", "ingest-service", "inference-worker")) {
            try (Stream<Path> files = Files.walk(root.resolve(module).resolve("src/main/java"))) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    Matcher m = literal.matcher(Files.readString(file));
                    while (m.find()) {
                        names.add(m.group(1).replace('.', '_'));
                    }
                }
            }
        }
        return names;
    }

    private static String httpPort(Path module) throws IOException {
        Matcher port = Pattern.compile("(?m)^quarkus\\.http\\.port=(\\d+)$")
                .matcher(Files.readString(module.resolve("src/main/resources/application.properties")));
        assertThat(port.find()).as(module + " sets quarkus.http.port").isTrue();
        return port.group(1);
    }
}
