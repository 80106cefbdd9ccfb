package io.ultralong.gateway.console;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import io.smallrye.common.annotation.Blocking;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;

/**
 * {@code GET /v1/workers}: every live worker as it reports itself (partitions owned, queue depth, KV
 * memory, throughput, model and licence). Any authenticated caller may read it: it shows no tenant data.
 */
@Path("/v1/workers")
@Produces(MediaType.APPLICATION_JSON)
public class WorkerResource {

    @Inject
    ClusterInspector inspector;

    @Inject
    ConsoleConfig config;

    @GET
    @Blocking
    public Map<String, Object> list() {
        long deadline = System.currentTimeMillis() + config.inspectTimeout().toMillis();
        ClusterInspector.Gathered<ResponseEvent.WorkerStatus> gathered = inspector.ask(
                partition -> new WorkerRequest.WorkerStatus(ClusterInspector.newRequestId(), "", deadline),
                ResponseEvent.WorkerStatus.class, config.inspectTimeout());
        // A worker owning several partitions answers once per partition: keep one answer per worker.
        Map<String, ResponseEvent.WorkerStatus> byWorker = new LinkedHashMap<>();
        gathered.answers().forEach(status -> byWorker.putIfAbsent(status.workerId(), status));
        List<ResponseEvent.WorkerStatus> workers = byWorker.values().stream()
                .sorted(Comparator.comparing(ResponseEvent.WorkerStatus::workerId)).toList();
        long owned = workers.stream().mapToLong(w -> w.partitions().size()).sum();
        return Map.of("data", workers, "partitions", gathered.partitions(), "partitionsOwned", owned);
    }
}
