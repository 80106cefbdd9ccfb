package io.ultralong.runtime.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a model reference becomes a model directory; every part (ingest's tokenizer, the workers, the
 * gateway's model id, evaluation, the embedded platform) resolves through it, so all read the same files.
 *
 * <p>A reference is, in this order: an existing plain model directory (config.json or tokenizer.json in it);
 * an existing HF hub cache folder {@code models--org--name} (its snapshot through {@code refs/main}, else its
 * only snapshot); or a hub id {@code org/name[@revision]}, found in the hub caches or downloaded into the first
 * of them (see {@link HubDownloader}). Without a reference, {@link #discover()} looks for an UltraLong model in
 * the hub caches.
 */
public final class ModelResolver {

    private static final Logger LOG = LoggerFactory.getLogger(ModelResolver.class);

    /**
     * The UltraLong Instruct models looked for by {@link #discover()}, largest context first; for each, the
     * repository's current name and the name it had before NVIDIA renamed it (still in older caches).
     */
    public static final List<String> ULTRALONG_REPOS = List.of(
            "nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct", "nvidia/Llama-3.1-8B-UltraLong-4M-Instruct",
            "nvidia/Llama-3.1-Nemotron-8B-UltraLong-2M-Instruct", "nvidia/Llama-3.1-8B-UltraLong-2M-Instruct",
            "nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct", "nvidia/Llama-3.1-8B-UltraLong-1M-Instruct");

    private final HubSettings hub;

    public ModelResolver(HubSettings hub) {
        this.hub = hub;
    }

    /** Hub settings from the environment (HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE). */
    public static ModelResolver fromEnvironment() {
        return new ModelResolver(HubSettings.fromEnvironment());
    }

    public HubSettings hub() {
        return hub;
    }

    /**
     * The model directory {@code reference} names (see the class comment); downloads a hub id that is not cached
     * unless offline.
     *
     * @throws IllegalArgumentException with what was looked for and where, when nothing fits
     */
    public ResolvedModel resolve(String reference) {
        if (reference == null || reference.isBlank()) {
            throw new IllegalArgumentException("Empty model reference: give a model directory, a hub cache folder"
                    + " (models--org--name) or a hub id org/name[@revision]");
        }
        Path path = Path.of(expandHome(reference.trim()));
        if (Files.exists(path)) {
            return resolveLocal(path);
        }
        Optional<HubRepoId> id = HubRepoId.parse(reference);
        if (id.isEmpty()) {
            throw new IllegalArgumentException("Model directory does not exist: " + path
                    + " (nor is it a hub id of the form org/name[@revision])");
        }
        return resolveHub(id.get());
    }

    /** An UltraLong model already in one of the hub caches ({@link #ULTRALONG_REPOS} order), or empty. */
    public Optional<ResolvedModel> discover() {
        for (String repo : ULTRALONG_REPOS) {
            for (Path cache : hub.searchDirs()) {
                Path folder = cache.resolve(HubRepoId.folderName(repo));
                if (Files.isDirectory(folder.resolve("snapshots"))) {
                    LOG.info("Found {} in the hub cache {}", repo, cache);
                    return Optional.of(new ResolvedModel(snapshotOf(folder), repo));
                }
            }
        }
        return Optional.empty();
    }

    private ResolvedModel resolveLocal(Path path) {
        if (!Files.isDirectory(path)) {
            throw new IllegalArgumentException("Not a model directory: " + path + " is a file");
        }
        Path directory = isModelDirectory(path) ? path : snapshotOf(path);
        return new ResolvedModel(directory, idOf(path.toAbsolutePath().normalize(), directory));
    }

    private ResolvedModel resolveHub(HubRepoId id) {
        Optional<Path> cached = cached(id);
        if (hub.offline()) {
            return new ResolvedModel(cached.orElseThrow(() -> new IllegalArgumentException("Model " + id
                    + " is not in the Hugging Face cache (" + hub.searchDirs() + ") and HF_HUB_OFFLINE is set,"
                    + " so it cannot be downloaded: unset HF_HUB_OFFLINE, or download it first")), id.repo());
        }
        try {
            return new ResolvedModel(new HubDownloader(hub).download(id), id.repo());
        } catch (HubDownloader.HubUnreachableException e) {
            if (cached.isPresent()) {
                LOG.warn("{}; using the cached snapshot {}", e.getMessage(), cached.get());
                return new ResolvedModel(cached.get(), id.repo());
            }
            throw e;
        }
    }

    /** The cached snapshot of {@code id}'s revision in any of the hub caches. */
    Optional<Path> cached(HubRepoId id) {
        for (Path cache : hub.searchDirs()) {
            Path folder = cache.resolve(id.cacheFolderName());
            Optional<Path> snapshot = snapshotFor(folder, id.revision());
            if (snapshot.isPresent()) {
                return snapshot;
            }
        }
        return Optional.empty();
    }

    /** The snapshot a revision (a ref name such as main, or a commit) points at in a cache folder, when present. */
    static Optional<Path> snapshotFor(Path folder, String revision) {
        String commit = revision;
        Path ref = folder.resolve("refs").resolve(revision);
        try {
            if (Files.isRegularFile(ref)) {
                commit = Files.readString(ref).trim();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + ref, e);
        }
        Path snapshot = folder.resolve("snapshots").resolve(commit);
        return Files.isDirectory(snapshot) ? Optional.of(snapshot) : Optional.empty();
    }

    /**
     * The snapshot of a hub cache folder: the one {@code refs/main} names, else the only one.
     *
     * @throws IllegalArgumentException when it is not a hub cache folder or the snapshot is ambiguous
     */
    public static Path snapshotOf(Path folder) {
        Path snapshots = folder.resolve("snapshots");
        if (!Files.isDirectory(snapshots)) {
            throw new IllegalArgumentException("Missing config.json in " + folder
                    + " (not a model directory nor a HF hub cache folder with snapshots/)");
        }
        Optional<Path> main = snapshotFor(folder, "main");
        if (main.isPresent()) {
            return main.get();
        }
        List<Path> all = new ArrayList<>();
        try (var list = Files.list(snapshots)) {
            list.filter(Files::isDirectory).sorted().forEach(all::add);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read hub cache " + folder, e);
        }
        if (all.size() == 1) {
            return all.get(0);
        }
        throw new IllegalArgumentException("Hub cache " + folder + " has " + all.size() + " snapshots "
                + all.stream().map(p -> p.getFileName().toString()).toList() + " and no usable refs/main: pass the"
                + " snapshot directory itself (" + snapshots + "/<commit>)");
    }

    private static boolean isModelDirectory(Path dir) {
        return Files.isRegularFile(dir.resolve("config.json")) || Files.isRegularFile(dir.resolve("tokenizer.json"));
    }

    /** org/name for a hub cache folder or one of its snapshots, else the directory's own name. */
    private static String idOf(Path given, Path directory) {
        Optional<String> repo = HubRepoId.repoOfFolder(String.valueOf(given.getFileName()));
        Path parent = given.getParent();
        if (repo.isEmpty() && parent != null && "snapshots".equals(String.valueOf(parent.getFileName()))
                && parent.getParent() != null) {
            repo = HubRepoId.repoOfFolder(String.valueOf(parent.getParent().getFileName()));
        }
        return repo.orElse(String.valueOf(directory.toAbsolutePath().normalize().getFileName()));
    }

    private static String expandHome(String reference) {
        return reference.equals("~") || reference.startsWith("~/")
                ? System.getProperty("user.home") + reference.substring(1) : reference;
    }
}
