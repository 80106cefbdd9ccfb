package io.ultralong.gateway.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.ultralong.gateway.GatewayConfig;

/**
 * The configured API keys, held only as SHA-256 digests. A presented key is hashed and compared with every digest
 * in constant time, all of them every time, so neither the comparison nor the number of entries tried tells an
 * attacker how close a guess came.
 */
@ApplicationScoped
public class ApiKeys {

    private record Entry(byte[] digest, String tenant) {
    }

    private final List<Entry> entries;

    @Inject
    public ApiKeys(GatewayConfig config) {
        this(config.auth().apiKeys(), config.auth().apiKeyHashes().orElse(List.of()));
    }

    ApiKeys(Map<String, String> clearKeys, List<String> hashedKeys) {
        List<Entry> all = new ArrayList<>();
        clearKeys.forEach((key, tenant) -> all.add(new Entry(sha256(key), tenant)));
        for (String entry : hashedKeys) {
            all.add(parseHashed(entry));
        }
        this.entries = List.copyOf(all);
    }

    /** The tenant whose key this is, if any. */
    public Optional<String> tenantOf(String presentedKey) {
        byte[] digest = sha256(presentedKey);
        String tenant = null;
        for (Entry entry : entries) {
            if (MessageDigest.isEqual(entry.digest(), digest) && tenant == null) {
                tenant = entry.tenant();
            }
        }
        return Optional.ofNullable(tenant);
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** {@code <tenant>:<sha-256 hex>}, the form of {@code ul.auth.api-key-hashes}. */
    public static String hashedEntry(String tenant, String key) {
        return tenant + ":" + HexFormat.of().formatHex(sha256(key));
    }

    private static Entry parseHashed(String entry) {
        int colon = entry.lastIndexOf(':');
        String hex = colon < 0 ? "" : entry.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
        if (colon <= 0 || !hex.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("ul.auth.api-key-hashes entries are <tenant>:<64 hex digits of the key's"
                    + " SHA-256>, not '" + entry.replaceAll("[0-9a-fA-F]{8,}", "...") + "'");
        }
        return new Entry(HexFormat.of().parseHex(hex), entry.substring(0, colon).trim());
    }

    private static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JVM", e);
        }
    }
}
