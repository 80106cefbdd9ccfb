package io.ultralong.gateway.security;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.gateway.GatewayConfig;
import io.ultralong.gateway.api.ApiException;

/**
 * Per-tenant caps on what is held open at once: requests in progress (streams included) and Server-Sent Event
 * streams. The rate limit bounds how often a key calls; this bounds how much one tenant holds, so that a tenant
 * with many open streams or slow queries cannot take the connections and subscriptions every tenant shares.
 */
@ApplicationScoped
public class TenantAdmission {

    /** Something held by a tenant; released once, whoever calls {@link #close()} first. */
    public static final class Permit implements AutoCloseable {
        private final AtomicInteger counter;
        private final AtomicBoolean released = new AtomicBoolean();

        private Permit(AtomicInteger counter) {
            this.counter = counter;
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                counter.decrementAndGet();
            }
        }
    }

    private final int maxInFlight;
    private final int maxStreams;
    private final ConcurrentMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, AtomicInteger> streams = new ConcurrentHashMap<>();

    public TenantAdmission(GatewayConfig config) {
        this.maxInFlight = config.limits().maxInFlightPerTenant();
        this.maxStreams = config.limits().maxStreamsPerTenant();
    }

    /** A request of {@code tenant} starts; 429 {@code too-many-requests} when it has its limit in progress. */
    public Permit admitRequest(String tenant) {
        return admit(inFlight, tenant, maxInFlight, "too-many-requests",
                "This tenant has " + maxInFlight + " requests in progress (open streams included), its limit; retry when one ends.");
    }

    /** A stream of {@code tenant} opens; 429 {@code too-many-streams} when it holds its limit open. */
    public Permit admitStream(String tenant) {
        return admit(streams, tenant, maxStreams, "too-many-streams",
                "This tenant holds " + maxStreams + " event streams open, its limit; close one first.");
    }

    /** Requests of {@code tenant} in progress now. */
    public int inFlight(String tenant) {
        AtomicInteger count = inFlight.get(tenant);
        return count == null ? 0 : count.get();
    }

    /** Streams of {@code tenant} open now. */
    public int streams(String tenant) {
        AtomicInteger count = streams.get(tenant);
        return count == null ? 0 : count.get();
    }

    private static Permit admit(ConcurrentMap<String, AtomicInteger> counts, String tenant, int max, String code,
                                String message) {
        AtomicInteger count = counts.computeIfAbsent(tenant, t -> new AtomicInteger());
        if (count.incrementAndGet() > max) {
            count.decrementAndGet();
            throw new ApiException(429, code, message);
        }
        return new Permit(count);
    }
}
