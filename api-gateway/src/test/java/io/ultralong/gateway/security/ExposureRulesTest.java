package io.ultralong.gateway.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ExposureRulesTest {

    @Test
    void authenticationOffIsRefusedOnAnythingButLoopback() {
        assertThat(ExposureGuard.bindingRefusal(false, "0.0.0.0")).contains("not a loopback address");
        assertThat(ExposureGuard.bindingRefusal(false, "10.1.2.3")).isNotNull();
        assertThat(ExposureGuard.bindingRefusal(false, "gateway.internal")).isNotNull();
        assertThat(ExposureGuard.bindingRefusal(false, "127.0.0.1")).isNull();
        assertThat(ExposureGuard.bindingRefusal(false, "127.0.0.2")).isNull();
        assertThat(ExposureGuard.bindingRefusal(false, "::1")).isNull();
        assertThat(ExposureGuard.bindingRefusal(false, "localhost")).isNull();
        assertThat(ExposureGuard.bindingRefusal(true, "0.0.0.0")).isNull();
    }

    @Test
    void theHostNameLosesItsPortButKeepsIpv6Brackets() {
        assertThat(ExposureGuard.hostName("Example.COM:8080")).isEqualTo("example.com");
        assertThat(ExposureGuard.hostName("[::1]:8080")).isEqualTo("::1");
        assertThat(ExposureGuard.hostName("[::1]")).isEqualTo("::1");
        assertThat(ExposureGuard.hostName("::1")).isEqualTo("::1");
        assertThat(ExposureGuard.hostName("localhost")).isEqualTo("localhost");
        assertThat(ExposureGuard.hostName("")).isNull();
    }

    @Test
    void clearAndHashedKeysResolveToTheirTenantsAndNothingElseDoes() {
        ApiKeys keys = new ApiKeys(Map.of("clear-key", "acme"), List.of(ApiKeys.hashedEntry("globex", "hashed-key")));
        assertThat(keys.tenantOf("clear-key")).contains("acme");
        assertThat(keys.tenantOf("hashed-key")).contains("globex");
        assertThat(keys.tenantOf("hashed-key ")).isEmpty();
        assertThat(keys.tenantOf("")).isEmpty();
        // uppercase hex, as a shell's sha256sum | tr might give it, is the same key
        String upper = "globex:" + ApiKeys.hashedEntry("x", "hashed-key").substring(2).toUpperCase();
        assertThat(new ApiKeys(Map.of(), List.of(upper)).tenantOf("hashed-key")).contains("globex");
    }

    @Test
    void aMalformedHashedEntryFailsWithoutEchoingTheDigest() {
        assertThatThrownBy(() -> new ApiKeys(Map.of(), List.of("acme:deadbeefdeadbeef")))
                .hasMessageContaining("<tenant>:<64 hex digits")
                .hasMessageNotContaining("deadbeefdeadbeef");
        assertThatThrownBy(() -> new ApiKeys(Map.of(), List.of(ApiKeys.hashedEntry("", "k"))))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
