package dev.ociproxy.server.warmup;

import dev.ociproxy.server.ProxyServer;
import dev.ociproxy.server.config.ConfigLoader;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.warmup.SyntheticRegistry.Blob;
import dev.ociproxy.server.warmup.SyntheticRegistry.Image;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pulls generated images through a throwaway copy of the proxy (its own cache directory, meters and
 * event loops) in front of a {@link SyntheticRegistry}: cold, then warm many times over. The JIT
 * compiles code, not instances, so the real server answers its first clients with compiled code: a
 * fresh start otherwise runs the small-blob path interpreted for its first ~30,000 requests and its
 * first big cold pull at half speed (benchmark/README.md).
 */
public final class WarmUp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WarmUp.class);

  /** The throwaway server's thread names: its log lines below WARN are dropped. */
  public static final String THREADS = "warm-up";

  /** Warm requests after which the small-blob path measured compiled (warmup_curve.py). */
  static final long ENOUGH_REQUESTS = 36_000;

  /** Rounds with a big layer: its download, hash and O_DIRECT write loops reach C2 by then. */
  private static final int BIG_ROUNDS = 4;

  private static final long BIG = 32L << 20;
  private static final int CLIENTS = 2;

  private final Path dir;
  private final long deadline;
  private final AtomicLong requests = new AtomicLong();
  private final long enough;
  private final SyntheticRegistry upstream;
  private final ProxyServer proxy;
  private final int port;
  private final ExecutorService clients =
      Executors.newFixedThreadPool(CLIENTS, new DefaultThreadFactory(THREADS + "-client", true));

  /** Stops at {@code budget} or once {@code enough} requests were made, whichever comes first. */
  private WarmUp(Path dir, Duration budget, long enough, MeterRegistry meters) throws Exception {
    this.dir = dir;
    this.deadline = System.nanoTime() + budget.toNanos();
    this.enough = enough;
    deleteTree(dir);
    upstream = new SyntheticRegistry();
    ProxyServer p = null;
    try {
      p = new ProxyServer(config(dir, upstream), meters, THREADS);
      port = p.start().getPort();
    } catch (RuntimeException | InterruptedException e) {
      if (p != null) {
        p.close();
      }
      upstream.close();
      clients.shutdownNow();
      throw e;
    }
    proxy = p;
  }

  /** The throwaway server's: loopback, its own cache directory, the synthetic registry. */
  private static ProxyConfig config(Path dir, SyntheticRegistry upstream) {
    return ConfigLoader.withSystemEnv()
        .parse(
            "listen: \"127.0.0.1:0\"\ncache:\n  dir: \""
                + dir
                + "\"\nupstreams:\n  - name: \"warm-up.local\"\n    url: \""
                + upstream.url()
                + "\"\n    default: true\n");
  }

  /**
   * Removes what a warm-up cut short by a kill left in {@code cacheDir/warm-up}; a start with the
   * warm-up on does so itself, one with it off calls this.
   */
  public static void removeLeftovers(Path cacheDir) {
    Path dir = dirIn(cacheDir);
    try {
      deleteTree(dir);
    } catch (IOException e) {
      log.warn("cannot remove what a warm-up left in {}: {}", dir, e.toString());
    }
  }

  /** The warm-up's own directory beside the cache's layout (never scanned as part of it). */
  private static Path dirIn(Path cacheDir) {
    return cacheDir.resolve("warm-up");
  }

  /** What a warm-up did: requests made, rounds begun, how long, and why it stopped early if so. */
  public record Report(long requests, int rounds, long millis, @Nullable String failure) {}

  /**
   * Starts the warm-up on its own thread, in {@code cacheDir/warm-up} (the cache's file system, so
   * the same write path is compiled), for at most {@code budget}. The future completes normally
   * when it is done, also when it failed (logged): readiness must not hang on it.
   */
  public static CompletableFuture<Report> atStart(Path cacheDir, Duration budget) {
    return atStart(cacheDir, budget, ENOUGH_REQUESTS);
  }

  static CompletableFuture<Report> atStart(Path cacheDir, Duration budget, long enough) {
    CompletableFuture<Report> done = new CompletableFuture<>();
    Thread t = new Thread(() -> done.complete(run(dirIn(cacheDir), budget, enough)), THREADS);
    t.setDaemon(true);
    t.start();
    return done;
  }

  private static Report run(Path dir, Duration budget, long enough) {
    long t0 = System.nanoTime();
    long requests = 0;
    int rounds = 0;
    String failure = null;
    try (WarmUp w = new WarmUp(dir, budget, enough, new SimpleMeterRegistry())) {
      try {
        rounds = w.rounds();
      } finally {
        requests = w.requests.get();
      }
    } catch (Exception | Error e) { // NoClassDefFoundError: a runtime without jdk.httpserver
      failure = e.toString();
    }
    // The two servers' garbage grew the heap; give it back before the real traffic comes.
    System.gc();
    Report r = new Report(requests, rounds, (System.nanoTime() - t0) / 1_000_000, failure);
    if (failure == null) {
      log.info(
          "warm-up done in {} ms: {} requests in {} rounds through a throwaway proxy",
          r.millis(),
          r.requests(),
          r.rounds());
    } else {
      log.warn(
          "warm-up stopped after {} ms and {} requests, serving without the rest of it: {}",
          r.millis(),
          r.requests(),
          failure);
    }
    return r;
  }

  /**
   * {@code --training-run}: one image cold, then warm twice, every answer checked, plus metrics,
   * health and a malformed request; for the class-data archive the build records.
   */
  public static void training(MeterRegistry meters) throws Exception {
    Path dir = Files.createTempDirectory("registry-proxy-training");
    try (WarmUp w =
        new WarmUp(dir.resolve("cache"), Duration.ofMinutes(5), Long.MAX_VALUE, meters)) {
      Image image = w.upstream.image("v1", 1, List.of(16L << 10, 2L << 20));
      try (LoopbackClient c = new LoopbackClient(w.port)) {
        for (int pass = 0; pass < 3; pass++) {
          w.pull(c, image, true);
          w.expect(
              c, "GET", "/v2/warm-up.local/" + SyntheticRegistry.REPO + "/tags/list", null, 200);
          w.expect(
              c,
              "GET",
              "/v2/warm-up.local/" + SyntheticRegistry.REPO + "/manifests/%zz",
              null,
              400);
          w.expect(c, "GET", "/metrics", null, 200);
          w.expect(c, "GET", "/readyz", null, 200);
        }
      }
    } finally {
      deleteTree(dir);
    }
  }

  /** Rounds until enough requests were made or the budget is spent; returns the rounds begun. */
  private int rounds() throws Exception {
    int round = 0;
    for (; requests.get() < enough && System.nanoTime() < deadline; round++) {
      List<Long> sizes = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        sizes.add((long) (4 << 10) << (i % 5)); // 4 to 64 KiB
      }
      if (round < BIG_ROUNDS) {
        sizes.add(BIG);
      }
      Image image = upstream.image("r" + round, 1_000L * round, sizes);
      cold(image);
      upstream.forget(image);
      warm(image);
    }
    return round;
  }

  /** One client pulls the image; a second follows the big layer's download as it arrives. */
  private void cold(Image image) throws Exception {
    CompletableFuture<Void> follower = CompletableFuture.completedFuture(null);
    try (LoopbackClient c = new LoopbackClient(port)) {
      for (Blob b : image.layers()) {
        if (b.size() == BIG) {
          follower = CompletableFuture.runAsync(() -> uncheck(() -> get(b)), clients);
        }
      }
      pull(c, image, true);
    }
    follower.join();
  }

  private void get(Blob b) throws IOException {
    try (LoopbackClient c = new LoopbackClient(port)) {
      expect(c, "GET", blobPath(b), null, 200);
    }
  }

  /**
   * {@link #CLIENTS} clients pull the cached image's manifests and small layers over and over, one
   * on a kept-alive connection, one on a new connection per request.
   */
  private void warm(Image image) {
    List<CompletableFuture<Void>> running = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      boolean perRequest = i % 2 == 1;
      running.add(
          CompletableFuture.runAsync(
              () -> uncheck(() -> pullRepeatedly(image, perRequest)), clients));
    }
    running.forEach(CompletableFuture::join);
  }

  private void pullRepeatedly(Image image, boolean connectionPerRequest) throws IOException {
    try (LoopbackClient c = new LoopbackClient(port, connectionPerRequest)) {
      for (int n = 0; n < 200 && requests.get() < enough && System.nanoTime() < deadline; n++) {
        pull(c, image, false);
      }
    }
  }

  /** Manifests by tag and digest, HEAD and GET of each layer, a Range; big layers only if asked. */
  private void pull(LoopbackClient c, Image image, boolean big) throws IOException {
    String manifests = "/v2/warm-up.local/" + SyntheticRegistry.REPO + "/manifests/";
    expect(c, "GET", "/v2/", null, 200);
    expect(c, "GET", manifests + image.tag(), null, 200);
    expect(c, "HEAD", manifests + image.tag(), null, 200);
    expect(c, "GET", manifests + image.digest(), null, 200);
    for (Blob b : image.layers()) {
      if (big || b.size() < BIG) {
        expect(c, "HEAD", blobPath(b), null, 200);
        expect(c, "GET", blobPath(b), null, 200);
        if (c.bodyBytes() != b.size()) {
          throw new IllegalStateException(
              "warm-up: "
                  + b.digest()
                  + " came with "
                  + c.bodyBytes()
                  + " of "
                  + b.size()
                  + " bytes");
        }
      }
    }
    expect(c, "GET", blobPath(image.layers().get(0)), "bytes=0-99", 206);
  }

  private static String blobPath(Blob b) {
    return "/v2/warm-up.local/" + SyntheticRegistry.REPO + "/blobs/" + b.digest();
  }

  private void expect(
      LoopbackClient c, String method, String path, @Nullable String range, int status)
      throws IOException {
    int got = c.send(method, path, range);
    requests.incrementAndGet();
    if (got != status) {
      throw new IllegalStateException(
          "warm-up: " + method + " " + path + " answered " + got + ", expected " + status);
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }

  private static void uncheck(IoAction a) {
    try {
      a.run();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      proxy.shutdown(Duration.ofSeconds(1));
    } finally {
      clients.shutdownNow();
      upstream.close();
      try {
        deleteTree(dir);
      } catch (IOException e) {
        log.warn("warm-up: cannot remove {}: {}", dir, e.toString());
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
