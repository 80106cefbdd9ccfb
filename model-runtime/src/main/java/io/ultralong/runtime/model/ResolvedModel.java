package io.ultralong.runtime.model;

import java.nio.file.Path;

/**
 * A model reference resolved to files on disk.
 *
 * @param directory the directory holding config.json, tokenizer.json and the weights (for a hub cache: the snapshot)
 * @param id        the name to show for it: {@code org/name} when it came from the hub, else the directory's name
 */
public record ResolvedModel(Path directory, String id) {
}
