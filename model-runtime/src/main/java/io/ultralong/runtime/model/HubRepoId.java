package io.ultralong.runtime.model;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face hub model reference {@code org/name[@revision]}; the revision is a branch, tag or commit
 * (default {@code main}).
 */
public record HubRepoId(String repo, String revision) {

    // HF repo names: letters, digits, '-', '_', '.'; revisions may also hold '/' (branch names)
    private static final Pattern FORM = Pattern.compile("([A-Za-z0-9][\\w.-]*)/([\\w.-]+)(?:@([\\w./-]+))?");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    /** {@code org/name[@revision]}, or empty when {@code reference} does not have that form. */
    public static Optional<HubRepoId> parse(String reference) {
        Matcher m = FORM.matcher(reference.trim());
        if (!m.matches() || m.group(2).equals("..") || m.group(1).equals("..")) {
            return Optional.empty();
        }
        return Optional.of(new HubRepoId(m.group(1) + "/" + m.group(2), m.group(3) == null ? "main" : m.group(3)));
    }

    /** The cache folder huggingface_hub uses for this model: {@code models--org--name}. */
    public String cacheFolderName() {
        return folderName(repo);
    }

    static String folderName(String repo) {
        return "models--" + repo.replace("/", "--");
    }

    /** {@code org/name} back from a cache folder name {@code models--org--name}, if it is one. */
    static Optional<String> repoOfFolder(String folder) {
        if (!folder.startsWith("models--")) {
            return Optional.empty();
        }
        String rest = folder.substring("models--".length());
        int sep = rest.indexOf("--");
        return sep <= 0 ? Optional.empty() : Optional.of(rest.substring(0, sep) + "/" + rest.substring(sep + 2));
    }

    /** Whether the revision is a full commit hash (then no ref names it in the cache). */
    public boolean revisionIsCommit() {
        return COMMIT.matcher(revision).matches();
    }

    @Override
    public String toString() {
        return "main".equals(revision) ? repo : repo + "@" + revision;
    }
}
