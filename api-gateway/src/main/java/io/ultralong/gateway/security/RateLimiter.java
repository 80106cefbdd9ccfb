package io.ultralong.gateway.security;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.gateway.GatewayConfig;

/** A token bucket per API key: {@code requestsPerSecond} steady, {@code burst} at once. */
@ApplicationScoped
public class RateLimiter {

    private final double ratePerNano;
    private final double burst;
    private final ConcurrentMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    public RateLimiter(GatewayConfig config) {
        this.ratePerNano = config.limits().requestsPerSecond() / 1e9;
        this.burst = Math.max(1, config.limits().burst());
    }

    /**
     * Takes one request's token for {@code key}: 0 when the request may go now, else the nanoseconds until the
     * bucket holds a token again (what a client should wait, the Retry-After of the 429).
     */
    public long tryAcquire(String key) {
        if (ratePerNano <= 0) {
            return 0;
        }
        return buckets.computeIfAbsent(key, k -> new Bucket(burst, System.nanoTime())).tryTake(ratePerNano, burst);
    }

    private static final class Bucket {
        private double tokens;
        private long refilledAt;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.refilledAt = now;
        }

        synchronized long tryTake(double ratePerNano, double capacity) {
            long now = System.nanoTime();
            tokens = Math.min(capacity, tokens + (now - refilledAt) * ratePerNano);
            refilledAt = now;
            if (tokens < 1) {
                return (long) Math.ceil((1 - tokens) / ratePerNano);
            }
            tokens -= 1;
            return 0;
        }
    }
}
