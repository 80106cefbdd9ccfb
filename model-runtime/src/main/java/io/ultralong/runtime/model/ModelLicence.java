package io.ultralong.runtime.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The licence a model comes under, as its hub model card states it: the {@code license:} key of README.md's YAML
 * front matter (with {@code license_name} / {@code license_link} when it is {@code other}), else a {@code license}
 * key in config.json. UltraLong-8B is CC-BY-NC-4.0 (non-commercial); Llama 3.x models come under Meta's licences.
 *
 * @param licence the licence identifier, e.g. {@code cc-by-nc-4.0}, {@code llama3.2}, {@code other}
 * @param name    license_name, when given
 * @param link    license_link, when given
 * @param source  the file it was read from
 */
public record ModelLicence(String licence, Optional<String> name, Optional<String> link, Path source) {

    private static final Logger LOG = LoggerFactory.getLogger(ModelLicence.class);
    private static final Set<Path> ANNOUNCED = ConcurrentHashMap.newKeySet();

    /** The licence in {@code modelDir}'s README.md front matter or config.json, if either states one. */
    public static Optional<ModelLicence> read(Path modelDir) {
        Path readme = modelDir.resolve("README.md");
        try {
            if (Files.isRegularFile(readme)) {
                Map<String, String> front = frontMatter(Files.readString(readme));
                if (front.containsKey("license")) {
                    return Optional.of(new ModelLicence(front.get("license"), Optional.ofNullable(front.get("license_name")),
                            Optional.ofNullable(front.get("license_link")), readme));
                }
            }
            Path config = modelDir.resolve("config.json");
            if (Files.isRegularFile(config)) {
                JsonNode licence = new ObjectMapper().readTree(config.toFile()).path("license");
                if (licence.isTextual() && !licence.asText().isBlank()) {
                    return Optional.of(new ModelLicence(licence.asText().trim(), Optional.empty(), Optional.empty(), config));
                }
            }
        } catch (IOException e) {
            LOG.warn("Cannot read the model card of {}: {}", modelDir, e.toString());
        }
        return Optional.empty();
    }

    /** Logs the licence of {@code modelDir} the first time this process loads it. */
    public static void announce(Path modelDir) {
        if (!ANNOUNCED.add(modelDir.toAbsolutePath().normalize())) {
            return;
        }
        Optional<ModelLicence> licence = read(modelDir);
        if (licence.isPresent()) {
            LOG.info("Model licence: {} (from {}); using the model means accepting its terms", licence.get().describe(),
                    licence.get().source());
        } else {
            LOG.warn("No licence found in the model card (README.md) or config.json of {}: check the model's terms"
                    + " before use", modelDir);
        }
    }

    /** {@code cc-by-nc-4.0}, or {@code other (llama3.2, LICENSE.txt)}. */
    public String describe() {
        StringBuilder s = new StringBuilder(licence);
        if (name.isPresent() || link.isPresent()) {
            s.append(" (").append(String.join(", ", name.stream().toList()));
            link.ifPresent(l -> s.append(name.isPresent() ? ", " : "").append(l));
            s.append(')');
        }
        return s.toString();
    }

    /** Top-level {@code key: value} lines between the leading {@code ---} fences (all a model card's licence needs). */
    static Map<String, String> frontMatter(String markdown) {
        Map<String, String> keys = new LinkedHashMap<>();
        String[] lines = markdown.replace("\r", "").split("\n");
        if (lines.length == 0 || !lines[0].strip().equals("---")) {
            return keys;
        }
        for (int i = 1; i < lines.length && !lines[i].strip().equals("---"); i++) {
            String line = lines[i];
            int colon = line.indexOf(':');
            if (colon > 0 && !Character.isWhitespace(line.charAt(0)) && !line.startsWith("-")) {
                String value = line.substring(colon + 1).strip();
                if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"")
                        || value.startsWith("'") && value.endsWith("'"))) {
                    value = value.substring(1, value.length() - 1);
                }
                if (!value.isEmpty()) {
                    keys.put(line.substring(0, colon).strip(), value);
                }
            }
        }
        return keys;
    }
}
