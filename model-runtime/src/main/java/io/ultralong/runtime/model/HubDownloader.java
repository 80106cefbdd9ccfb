package io.ultralong.runtime.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downloads the files a Llama checkpoint needs from the Hugging Face hub into the standard hub cache layout, as
 * huggingface_hub lays it out, so that its tools and ours share one copy:
 * {@code models--org--name/blobs/<etag>} (the content, named by its sha256 for LFS files and its git blob id
 * otherwise), {@code snapshots/<commit>/<file>} (relative links to the blobs) and {@code refs/<revision>}
 * (the commit a branch or tag pointed at).
 *
 * <p>The file list, commit and checksums come from one call to {@code GET /api/models/{repo}/revision/{rev}?blobs=true}.
 * A file is fetched from {@code /{repo}/resolve/{commit}/{file}} into {@code blobs/<etag>.incomplete} and resumed
 * with an HTTP Range request after an interruption (in this run or a later one); it becomes a blob only once its
 * sha256 (LFS) or git blob id and size match the hub's, and a mismatch deletes it.
 */
public final class HubDownloader {

    private static final Logger LOG = LoggerFactory.getLogger(HubDownloader.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Top-level files a Llama checkpoint is loaded from, plus the model card and licence it comes under. */
    private static final Pattern NEEDED = Pattern.compile(
            "config\\.json|generation_config\\.json|tokenizer\\.json|tokenizer_config\\.json|special_tokens_map\\.json"
                    + "|.*\\.safetensors|model\\.safetensors\\.index\\.json|README\\.md|LICEN[CS]E(\\.\\w+)?",
            Pattern.CASE_INSENSITIVE);
    private static final int ATTEMPTS = 3;
    private static final int MAX_REDIRECTS = 5;
    private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(5);
    /** One download per repository at a time in this JVM; the lock file does the same across processes. */
    private static final Object JVM_LOCK = new Object();

    private final HubSettings hub;
    private final HttpClient http;

    public HubDownloader(HubSettings hub) {
        this.hub = hub;
        // redirects are followed by hand: the token must not travel to the storage host a file redirects to
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** The hub cannot be reached at all (DNS, connection refused, timeout). */
    public static final class HubUnreachableException extends IllegalStateException {
        HubUnreachableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A downloaded file's content is not what the hub's metadata says. */
    public static final class ChecksumMismatchException extends IllegalStateException {
        ChecksumMismatchException(String message) {
            super(message);
        }
    }

    /** One file of the repository at the resolved commit, with what the hub says about its content. */
    record RepoFile(String name, long size, String etag, Optional<String> sha256) { }

    /**
     * Downloads what is missing of {@code id} and returns its snapshot directory.
     *
     * @throws HubUnreachableException when the hub cannot be reached
     * @throws IllegalArgumentException for a repository or revision the hub does not know, or access refused
     */
    public Path download(HubRepoId id) {
        Path folder = hub.cacheDir().resolve(id.cacheFolderName());
        try {
            Files.createDirectories(folder.resolve("blobs"));
            Path locks = hub.cacheDir().resolve(".locks").resolve(id.cacheFolderName());
            Files.createDirectories(locks);
            synchronized (JVM_LOCK) {
                try (FileChannel lockFile = FileChannel.open(locks.resolve("download.lock"),
                        StandardOpenOption.CREATE, StandardOpenOption.WRITE); FileLock ignored = lockFile.lock()) {
                    return downloadLocked(id, folder);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the Hugging Face cache " + hub.cacheDir(), e);
        }
    }

    private Path downloadLocked(HubRepoId id, Path folder) throws IOException {
        JsonNode info = modelInfo(id);
        String commit = info.path("sha").asText();
        if (!commit.matches("[0-9a-f]{40}")) {
            throw new IllegalStateException("The hub's answer for " + id + " has no commit sha: " + info);
        }
        List<RepoFile> files = neededFiles(id, info);
        long total = files.stream().mapToLong(RepoFile::size).sum();
        LOG.info("Model {} at commit {}: {} files, {} in all, into {}", id, commit, files.size(), bytes(total), folder);
        Path snapshot = folder.resolve("snapshots").resolve(commit);
        for (RepoFile file : files) {
            Path blob = folder.resolve("blobs").resolve(file.etag());
            if (!(Files.isRegularFile(blob) && Files.size(blob) == file.size())) {
                fetch(id, commit, file, blob);
            }
            link(snapshot.resolve(file.name()), blob);
        }
        if (!id.revisionIsCommit()) {
            Path ref = folder.resolve("refs").resolve(id.revision());
            Files.createDirectories(ref.getParent());
            Files.writeString(ref, commit);
        }
        return snapshot;
    }

    private JsonNode modelInfo(HubRepoId id) throws IOException {
        URI uri = URI.create(hub.endpoint() + "/api/models/" + id.repo() + "/revision/"
                + URLEncoder.encode(id.revision(), StandardCharsets.UTF_8) + "?blobs=true");
        try {
            HttpResponse<InputStream> response = send(uri, Optional.empty(), id);
            try (InputStream body = response.body()) {
                return JSON.readTree(body);
            }
        } catch (IOException e) {
            // a timeout or a dropped connection, not a cache problem: say it is the hub
            throw unreachable(id, e);
        }
    }

    private static List<RepoFile> neededFiles(HubRepoId id, JsonNode info) {
        List<RepoFile> files = new ArrayList<>();
        for (JsonNode sibling : info.path("siblings")) {
            String name = sibling.path("rfilename").asText();
            // top-level files only: what a checkpoint needs is there, and a name never leads out of the snapshot
            if (name.contains("/") || name.contains("\\") || !NEEDED.matcher(name).matches()) {
                continue;
            }
            JsonNode lfs = sibling.path("lfs");
            if (lfs.isObject()) {
                String sha256 = lfs.path("sha256").asText().toLowerCase(Locale.ROOT);
                files.add(new RepoFile(name, lfs.path("size").asLong(), sha256, Optional.of(sha256)));
            } else if (sibling.hasNonNull("blobId") && sibling.hasNonNull("size")) {
                files.add(new RepoFile(name, sibling.path("size").asLong(),
                        sibling.path("blobId").asText().toLowerCase(Locale.ROOT), Optional.empty()));
            } else {
                throw new IllegalStateException("The hub gave no size and blob id for " + name + " of " + id);
            }
        }
        for (RepoFile f : files) {
            if (!f.etag().matches("[0-9a-f]{40}|[0-9a-f]{64}")) {   // it names a file in blobs/
                throw new IllegalStateException("The hub gave " + f.name() + " of " + id + " the blob id '" + f.etag()
                        + "', not a git or sha256 hash");
            }
        }
        if (files.stream().noneMatch(f -> f.name().endsWith(".safetensors"))) {
            throw new IllegalArgumentException("Model " + id + " has no safetensors weights on the hub: only Llama"
                    + " checkpoints in safetensors format can be loaded");
        }
        if (files.stream().noneMatch(f -> f.name().equals("config.json"))) {
            throw new IllegalArgumentException("Model " + id + " has no config.json on the hub");
        }
        return files;
    }

    /** Downloads one file into {@code blob}, resuming its .incomplete part with a Range request. */
    private void fetch(HubRepoId id, String commit, RepoFile file, Path blob) throws IOException {
        Path part = blob.resolveSibling(blob.getFileName() + ".incomplete");
        URI uri = URI.create(hub.endpoint() + "/" + id.repo() + "/resolve/" + commit + "/" + file.name());
        Checksum checksum = new Checksum(file);
        IOException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            long have = Files.isRegularFile(part) ? Files.size(part) : 0;
            if (have > file.size()) {
                Files.delete(part);
                have = 0;
            }
            try {
                checksum.catchUp(part, have);
                if (have < file.size()) {
                    transfer(id, uri, file, part, have, checksum);
                }
                verify(file, part, checksum);
                Files.move(part, blob, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                return;
            } catch (IOException e) {
                // the connection broke: keep what arrived, the next attempt (or run) asks for the rest
                last = e;
                LOG.warn("Download of {} interrupted at {} of {} ({}); {}", file.name(),
                        bytes(Files.isRegularFile(part) ? Files.size(part) : 0), bytes(file.size()), e.toString(),
                        attempt < ATTEMPTS ? "resuming" : "giving up");
            }
        }
        throw new HubUnreachableException("Download of " + file.name() + " of " + id + " from " + hub.endpoint()
                + " failed " + ATTEMPTS + " times; run again to resume it (" + part + " is kept)", last);
    }

    private void transfer(HubRepoId id, URI uri, RepoFile file, Path part, long have, Checksum checksum) throws IOException {
        HttpResponse<InputStream> response = send(uri, have > 0 ? Optional.of("bytes=" + have + "-") : Optional.empty(), id);
        boolean append = response.statusCode() == 206;
        if (have > 0) {
            LOG.info("Resuming {} at {}{}", file.name(), bytes(have), append ? "" : " (the server sent it whole)");
        }
        long done = append ? have : 0;
        if (!append) {
            checksum.reset();
        }
        Progress progress = new Progress(file, done);
        try (InputStream in = response.body();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
                checksum.update(buffer, n);   // hashed as it arrives: no second pass over a 5 GB shard
                done += n;
                progress.update(done);
            }
        }
        progress.finish(done);
    }

    /** Size, then sha256 (LFS) or the git blob id (other files); a mismatch deletes the download. */
    private static void verify(RepoFile file, Path part, Checksum checksum) throws IOException {
        long size = Files.size(part);
        String problem = null;
        if (size != file.size()) {
            problem = "size " + size + " bytes, the hub says " + file.size();
        } else {
            checksum.catchUp(part, size);
            String expected = file.sha256().orElse(file.etag());
            String actual = checksum.hex();
            if (!expected.equals(actual)) {
                problem = (file.sha256().isPresent() ? "sha256 " : "git blob id ") + actual + ", the hub says " + expected;
            }
        }
        if (problem != null) {
            Files.deleteIfExists(part);
            throw new ChecksumMismatchException("Downloaded " + file.name() + " is corrupt (" + problem
                    + "); deleted it: run again to download it anew");
        }
    }

    /**
     * The running checksum of a file's .incomplete part: sha256 for LFS files, else git's blob id,
     * sha1("blob <size>\0" + content), which the hub gives for non-LFS files.
     */
    private static final class Checksum {
        private final RepoFile file;
        private MessageDigest md;
        private long bytes;

        Checksum(RepoFile file) {
            this.file = file;
            reset();
        }

        void reset() {
            try {
                md = MessageDigest.getInstance(file.sha256().isPresent() ? "SHA-256" : "SHA-1");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            if (file.sha256().isEmpty()) {
                md.update(("blob " + file.size() + "\0").getBytes(StandardCharsets.US_ASCII));
            }
            bytes = 0;
        }

        void update(byte[] buffer, int n) {
            md.update(buffer, 0, n);
            bytes += n;
        }

        /** Hashes the part's first {@code size} bytes again unless exactly those are hashed already (a resume across runs). */
        void catchUp(Path part, long size) throws IOException {
            if (bytes == size) {
                return;
            }
            reset();
            if (size == 0) {
                return;
            }
            try (InputStream in = Files.newInputStream(part)) {
                byte[] buffer = new byte[1 << 20];
                long left = size;
                for (int n; left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) > 0; left -= n) {
                    update(buffer, n);
                }
            }
        }

        String hex() {
            return HexFormat.of().formatHex(md.digest());
        }
    }

    /** snapshots/<commit>/<file> -> ../../blobs/<etag>, relative as huggingface_hub makes it; a copy where links fail. */
    private static void link(Path target, Path blob) throws IOException {
        Files.createDirectories(target.getParent());
        Files.deleteIfExists(target);
        try {
            Files.createSymbolicLink(target, target.getParent().relativize(blob));
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, target);
        }
    }

    /** GET with the token (never sent to another host a redirect leads to) and the hub's errors made clear. */
    private HttpResponse<InputStream> send(URI uri, Optional<String> range, HubRepoId id) throws IOException {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(current).timeout(Duration.ofMinutes(2))
                    .header("User-Agent", "ultralong-stream").GET();
            if (hub.token().isPresent() && sameHost(current, hub.endpoint())) {
                request.header("Authorization", "Bearer " + hub.token().get());
            }
            range.ifPresent(r -> request.header("Range", r));
            HttpResponse<InputStream> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (ConnectException | HttpConnectTimeoutException | java.nio.channels.UnresolvedAddressException e) {
                throw unreachable(id, e);
            } catch (IOException e) {
                if (e.getCause() instanceof java.nio.channels.UnresolvedAddressException || e instanceof java.net.UnknownHostException) {
                    throw unreachable(id, e);
                }
                throw e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("Interrupted while downloading " + id, e);
            }
            int status = response.statusCode();
            if (status >= 300 && status < 400 && response.headers().firstValue("Location").isPresent()) {
                response.body().close();
                current = current.resolve(response.headers().firstValue("Location").get());
                continue;
            }
            if (status == 200 || status == 206) {
                return response;
            }
            String detail = response.headers().firstValue("X-Error-Message").orElse("");
            response.body().close();
            String message = switch (status) {
                case 401, 403 -> "The Hugging Face hub refused access to " + id + " (HTTP " + status + "): "
                        + (hub.token().isPresent() ? "the token in HF_TOKEN has no access to it; accept the model's"
                                + " licence on its hub page with the account the token belongs to"
                                : "it is gated or private; accept its licence on the hub, then set HF_TOKEN to an"
                                + " access token (https://huggingface.co/settings/tokens)");
                case 404 -> "The Hugging Face hub at " + hub.endpoint() + " has no model " + id.repo() + " at revision "
                        + id.revision() + " (HTTP 404; check the name, or set HF_TOKEN if it is private)";
                default -> "The Hugging Face hub answered HTTP " + status + " for " + current;
            };
            throw new IllegalArgumentException(message + (detail.isEmpty() ? "" : " [" + detail + "]"));
        }
        throw new IllegalStateException("Too many redirects from " + uri);
    }

    private HubUnreachableException unreachable(HubRepoId id, Exception e) {
        return new HubUnreachableException("Cannot reach the Hugging Face hub at " + hub.endpoint() + " to download "
                + id + " (" + e + "): check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use only what is"
                + " already in the cache " + hub.cacheDir(), e);
    }

    private static boolean sameHost(URI a, URI b) {
        return a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        do {
            v /= 1024;
            u++;
        } while (v >= 1024 && u < units.length - 1);
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** A log line per file every few seconds: bytes, percent and rate, so a 16 GB download shows it is alive. */
    private static final class Progress {
        private final RepoFile file;
        private final long start;
        private final long startBytes;
        private long lastLog;

        Progress(RepoFile file, long startBytes) {
            this.file = file;
            this.start = System.nanoTime();
            this.lastLog = start;
            this.startBytes = startBytes;
        }

        void update(long done) {
            long now = System.nanoTime();
            if (now - lastLog >= PROGRESS_INTERVAL.toNanos()) {
                lastLog = now;
                log(done, now);
            }
        }

        void finish(long done) {
            log(done, System.nanoTime());
        }

        private void log(long done, long now) {
            double seconds = Math.max(1e-3, (now - start) / 1e9);
            LOG.info("{}: {} of {} ({}%), {}/s", file.name(), bytes(done), bytes(file.size()),
                    file.size() == 0 ? 100 : done * 100 / file.size(), bytes((long) ((done - startBytes) / seconds)));
        }
    }
}
