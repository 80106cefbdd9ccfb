package io.ultralong.runtime.model;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The Hugging Face hub's download endpoints for one repository, on a local port: the model info with
 * {@code ?blobs=true} (commit, siblings with size, git blob id and LFS sha256), {@code /resolve/} with the hub's
 * headers (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size) and Range requests, LFS files redirected to a
 * storage path as the hub redirects them to its CDN. Files ending in .safetensors are LFS files, as on the hub.
 * It can cut a transfer short, serve a corrupted byte, and require a token.
 */
final class FakeHub implements AutoCloseable {

    /** One request as the server saw it (the path still percent-encoded). */
    record Request(String path, Optional<String> range, Optional<String> authorization) { }

    private record Served(byte[] content, String gitBlobId, Optional<String> sha256) { }

    private final HttpServer server;
    private final String repo;
    private final String commit;
    private final Map<String, Served> files = new TreeMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Long> cutAfter = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private volatile Optional<String> requiredToken = Optional.empty();

    FakeHub(String repo, String commit, Path modelDir) throws IOException {
        this.repo = repo;
        this.commit = commit;
        try (var walk = Files.walk(modelDir)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                String name = modelDir.relativize(file).toString().replace('\\', '/');
                byte[] content = Files.readAllBytes(file);
                files.put(name, new Served(content, hex("SHA-1", ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII), content),
                        name.endsWith(".safetensors") ? Optional.of(hex("SHA-256", new byte[0], content)) : Optional.empty()));
            }
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    List<Request> requests() {
        return List.copyOf(requests);
    }

    /** The next transfer of {@code file} stops after {@code bytes} bytes, as a dropped connection. */
    void cutNextTransferAfter(String file, long bytes) {
        cutAfter.put(file, bytes);
    }

    /** {@code file} is served with one byte changed (its metadata still names the true checksum). */
    void corrupt(String file) {
        corrupt.put(file, true);
    }

    /** Lists (and serves) one more file under a name of the test's choice, as a hostile or odd hub might. */
    void serveExtra(String name, byte[] content) {
        files.put(name, new Served(content, hex("SHA-1", ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII), content),
                Optional.of(hex("SHA-256", new byte[0], content))));
    }

    void requireToken(String token) {
        requiredToken = Optional.of(token);
    }

    Optional<String> sha256(String file) {
        return files.get(file).sha256();
    }

    String gitBlobId(String file) {
        return files.get(file).gitBlobId();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        Optional<String> auth = Optional.ofNullable(exchange.getRequestHeaders().getFirst("Authorization"));
        requests.add(new Request(exchange.getRequestURI().getRawPath(), Optional.ofNullable(exchange.getRequestHeaders().getFirst("Range")), auth));
        try (exchange) {
            if (path.startsWith("/cdn/")) {
                serve(exchange, path.substring("/cdn/".length()));
                return;
            }
            if (requiredToken.isPresent() && !auth.equals(requiredToken.map(t -> "Bearer " + t))) {
                exchange.getResponseHeaders().add("X-Error-Message", "Access to model " + repo + " is restricted.");
                exchange.sendResponseHeaders(401, -1);
                return;
            }
            String api = "/api/models/" + repo + "/revision/";
            String resolve = "/" + repo + "/resolve/";
            if (path.startsWith(api)) {
                modelInfo(exchange);
            } else if (path.startsWith(resolve)) {
                String rest = path.substring(resolve.length());
                String file = rest.substring(rest.indexOf('/') + 1);
                Served served = files.get(file);
                if (served == null) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                exchange.getResponseHeaders().add("X-Repo-Commit", commit);
                exchange.getResponseHeaders().add("ETag", "\"" + served.gitBlobId() + "\"");
                if (served.sha256().isPresent()) {
                    // LFS: the content lives elsewhere; the hub names it by sha256 and redirects to its CDN
                    exchange.getResponseHeaders().add("X-Linked-Etag", "\"" + served.sha256().get() + "\"");
                    exchange.getResponseHeaders().add("X-Linked-Size", String.valueOf(served.content().length));
                    exchange.getResponseHeaders().add("Location", "/cdn/" + file);
                    exchange.sendResponseHeaders(302, -1);
                } else {
                    serve(exchange, file);
                }
            } else {
                exchange.getResponseHeaders().add("X-Error-Message", "Repository not found");
                exchange.sendResponseHeaders(404, -1);
            }
        }
    }

    private void modelInfo(HttpExchange exchange) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode info = json.createObjectNode();
        info.put("id", repo);
        info.put("sha", commit);
        ArrayNode siblings = info.putArray("siblings");
        files.forEach((name, served) -> {
            ObjectNode s = siblings.addObject();
            s.put("rfilename", name);
            s.put("size", served.content().length);
            s.put("blobId", served.gitBlobId());
            served.sha256().ifPresent(sha -> s.putObject("lfs").put("sha256", sha).put("size", served.content().length)
                    .put("pointerSize", 134));
        });
        byte[] body = json.writeValueAsBytes(info);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
    }

    private void serve(HttpExchange exchange, String file) throws IOException {
        Served served = files.get(file);
        byte[] content = served.content().clone();
        if (corrupt.containsKey(file)) {
            content[content.length / 2] ^= 0x01;
        }
        long from = 0;
        String range = exchange.getRequestHeaders().getFirst("Range");
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Long.parseLong(range.substring("bytes=".length(), range.length() - 1));
            exchange.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (content.length - 1) + "/" + content.length);
        }
        long length = content.length - from;
        exchange.sendResponseHeaders(range != null ? 206 : 200, length);
        OutputStream out = exchange.getResponseBody();
        Long cut = cutAfter.remove(file);
        if (cut != null) {
            out.write(content, (int) from, (int) Math.min(length, cut));
            out.flush();
            // a dropped connection: the client has fewer bytes than Content-Length said
            throw new IOException("cut short on purpose");
        }
        out.write(content, (int) from, (int) length);
    }

    private static String hex(String algorithm, byte[] prefix, byte[] content) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            md.update(prefix);
            md.update(content);
            return HexFormat.of().formatHex(md.digest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }

}
