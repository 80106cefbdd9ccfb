package io.ultralong.gateway.console;

import java.util.Comparator;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;

/**
 * The sessions of a tenant, gathered from the owners of every partition, ordered by id and paged.
 * Each worker filters by tenant and search text before answering, so a page costs one small answer
 * per partition whatever the number of sessions.
 */
@ApplicationScoped
public class SessionCatalog {

    private final ClusterInspector inspector;
    private final ConsoleConfig config;

    public SessionCatalog(ClusterInspector inspector, ConsoleConfig config) {
        this.inspector = inspector;
        this.config = config;
    }

    /** One listed session; {@code worker} owns {@code partition}. */
    public record Listed(String id, long records, long tokens, long lastSeq, long cachedTokens, String kvLocation,
                         int partition, String worker, long updatedAt) {
    }

    /**
     * One page. {@code total} counts the matching sessions of the partitions that answered;
     * {@code partitionsAnswered < partitions} means some had no live owner and their sessions are missing.
     */
    public record Page(List<Listed> data, long total, int offset, int limit, int partitions, int partitionsAnswered) {
    }

    public Page page(String tenant, String contains, int offset, int limit) {
        String prefix = tenant + "/";
        long deadline = System.currentTimeMillis() + config.inspectTimeout().toMillis();
        ClusterInspector.Gathered<ResponseEvent.SessionList> gathered = inspector.ask(
                partition -> new WorkerRequest.ListSessions(ClusterInspector.newRequestId(), prefix,
                        contains == null ? "" : contains, deadline),
                ResponseEvent.SessionList.class, config.inspectTimeout());
        List<Listed> all = gathered.answers().stream()
                .flatMap(list -> list.sessions().stream().map(s -> new Listed(s.key().substring(prefix.length()),
                        s.records(), s.tokens(), s.lastSeq(), s.cachedTokens(), s.kvLocation(), list.partition(), list.workerId(), s.updatedAt())))
                .sorted(Comparator.comparing(Listed::id))
                .toList();
        int from = Math.min(offset, all.size());
        int to = Math.min(all.size(), from + limit);
        return new Page(all.subList(from, to), all.size(), offset, limit, gathered.partitions(), gathered.answers().size());
    }
}
