package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.policy.SignatureArtifacts;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.verify.VerificationException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Fetches everything a pull of an image needs into the cache, through the same {@link Registry}
 * that serves clients: so every manifest and blob is verified exactly as for a client, shared with
 * concurrent client pulls, and subject to the same offline and pin rules. Content already cached is
 * not fetched again. Thread-safe; one instance may run several warms at once.
 */
public final class Warmer {
  /** Default number of manifests and blobs fetched at once per warm call. */
  public static final int DEFAULT_CONCURRENCY = 4;

  private final Function<String, @Nullable Registry> registries;
  private final int concurrency;

  /**
   * @param registries the registry for an upstream name, or null when there is none
   * @param concurrency manifests and blobs fetched at once per {@link #warm} call
   */
  public Warmer(Function<String, @Nullable Registry> registries, int concurrency) {
    this.registries = requireNonNull(registries, "registries");
    if (concurrency < 1) {
      throw new IllegalArgumentException("concurrency: " + concurrency + " (expected: >= 1)");
    }
    this.concurrency = concurrency;
  }

  /**
   * Warms {@code refs}; for an index only the manifests of {@code platforms} (every platform when
   * empty). The future never fails: problems are in the report.
   */
  public CompletableFuture<WarmReport> warm(List<ImageRef> refs, Set<Platform> platforms) {
    return warm(refs, platforms, new WarmProgress());
  }

  public CompletableFuture<WarmReport> warm(
      List<ImageRef> refs, Set<Platform> platforms, WarmProgress progress) {
    return warm(refs, platforms, Attached.NONE, progress);
  }

  /** Warms {@code refs} and what is {@code attached} to each manifest they need. */
  public CompletableFuture<WarmReport> warm(
      List<ImageRef> refs, Set<Platform> platforms, Attached attached, WarmProgress progress) {
    AsyncLimiter limiter = new AsyncLimiter(concurrency);
    List<CompletableFuture<WarmReport.Item>> items = new ArrayList<>();
    for (ImageRef ref : refs) {
      items.add(new ImageWarm(ref, Set.copyOf(platforms), attached, limiter, progress).run());
    }
    return CompletableFuture.allOf(items.toArray(CompletableFuture[]::new))
        .thenApply(v -> new WarmReport(items.stream().map(CompletableFuture::join).toList()));
  }

  /**
   * One reference being warmed: resolves manifests, then what is attached to them, then fetches the
   * blobs they all name.
   */
  private final class ImageWarm {
    private final ImageRef ref;
    private final Set<Platform> platforms;
    private final Attached attached;
    private final AsyncLimiter limiter;
    private final WarmProgress progress;
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger manifests = new AtomicInteger();
    private final AtomicInteger referrers = new AtomicInteger();
    private final AtomicInteger signatures = new AtomicInteger();
    private final Set<Digest> walked = ConcurrentHashMap.newKeySet();
    private final AtomicInteger fetched = new AtomicInteger();
    private final AtomicInteger cached = new AtomicInteger();
    private final AtomicLong bytesFetched = new AtomicLong();
    private final AtomicLong bytesCached = new AtomicLong();
    private volatile @Nullable Manifest top;

    ImageWarm(
        ImageRef ref,
        Set<Platform> platforms,
        Attached attached,
        AsyncLimiter limiter,
        WarmProgress progress) {
      this.ref = ref;
      this.platforms = platforms;
      this.attached = attached;
      this.limiter = limiter;
      this.progress = progress;
    }

    CompletableFuture<WarmReport.Item> run() {
      Registry m = registries.apply(ref.upstream());
      if (m == null) {
        problems.add("no upstream named " + ref.upstream());
        return CompletableFuture.completedFuture(item());
      }
      Map<Digest, Descriptor> blobs = Collections.synchronizedMap(new LinkedHashMap<>());
      Fetch fetch = new Fetch(m, blobs);
      return limiter
          .submit(() -> m.manifest(ref.repository(), ref.reference(), MediaTypes.ALL_MANIFESTS))
          .thenCompose(
              t -> {
                top = t;
                manifests.incrementAndGet();
                Descriptor root = new Descriptor(t.mediaType(), t.digest(), t.body().length, null);
                return ImageGraph.walk(
                    ImageGraph.Node.parse(root, t.body(), t.mediaType()), platforms, fetch);
              })
          .thenCompose(v -> attach(m, fetch))
          .thenCompose(v -> fetchBlobs(m, List.copyOf(blobs.values())))
          .handle(
              (v, err) -> {
                if (err != null) {
                  problems.add(
                      "manifest " + ref.repositoryReference() + ": " + ImageGraph.describe(err));
                }
                return item();
              });
    }

    /** The walk through the registry: manifests fetched by digest, blobs gathered for later. */
    private final class Fetch implements ImageGraph.Visitor {
      private final Registry registry;
      private final Map<Digest, Descriptor> blobs;

      Fetch(Registry registry, Map<Digest, Descriptor> blobs) {
        this.registry = registry;
        this.blobs = blobs;
      }

      @Override
      public CompletableFuture<ImageGraph.@Nullable Node> read(Descriptor entry, int depth) {
        return limiter
            .submit(
                () -> registry.manifest(ref.repository(), entry.digest(), MediaTypes.ALL_MANIFESTS))
            .thenApply(
                child -> {
                  manifests.incrementAndGet();
                  return ImageGraph.Node.parse(entry, child.body(), child.mediaType());
                });
      }

      @Override
      public String holder() {
        return "the upstream";
      }

      @Override
      public void problem(String message) {
        problems.add(message);
      }

      @Override
      public void blob(Descriptor blob, ImageGraph.Node of) {
        blobs.putIfAbsent(blob.digest(), blob);
      }

      @Override
      public void walked(ImageGraph.Node node) {
        walked.add(node.descriptor().digest());
      }
    }

    /** Walks into the cache what is attached to each manifest of the image walked so far. */
    private CompletableFuture<Void> attach(Registry m, Fetch fetch) {
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (Digest d : List.copyOf(walked)) {
        if (attached.anyReferrers()) {
          all.add(referrersOf(m, d, fetch));
        }
        if (attached.signatures()) {
          all.add(classicSignatureOf(m, d, fetch));
        }
      }
      return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /**
     * cosign's classic signature manifest of {@code subject} (its {@code sha256-<hex>.sig} tag)
     * with its payloads; an image without one is no problem (the policy, if any, decides).
     */
    private CompletableFuture<Void> classicSignatureOf(Registry m, Digest subject, Fetch fetch) {
      Tag tag = SignatureArtifacts.classicTag(subject);
      if (tag == null) {
        return CompletableFuture.completedFuture(null);
      }
      return walkAttached(m, tag, fetch, signatures)
          .exceptionally(
              err -> {
                if (!absent(err)) {
                  problems.add("signature " + tag + ": " + ImageGraph.describe(err));
                }
                return null;
              });
    }

    /** The referrers the registry verified for {@code subject}, each with its whole graph. */
    private CompletableFuture<Void> referrersOf(Registry m, Digest subject, Fetch fetch) {
      return limiter
          .submit(() -> m.referrers(ref.repository(), subject))
          .thenCompose(
              list ->
                  CompletableFuture.allOf(
                      list.manifests().stream()
                          .filter(r -> attached.wants(r.artifactType()))
                          .map(
                              r ->
                                  walkAttached(
                                      m,
                                      r.digest(),
                                      fetch,
                                      SignatureArtifacts.isBundle(r.artifactType())
                                          ? signatures
                                          : referrers))
                          .toArray(CompletableFuture[]::new)))
          .exceptionally(
              err -> {
                problems.add("referrers of " + subject + ": " + ImageGraph.describe(err));
                return null;
              });
    }

    /** Walks the graph of an attached manifest, counted as one of {@code kind} once fetched. */
    private CompletableFuture<Void> walkAttached(
        Registry m, Reference r, Fetch fetch, AtomicInteger kind) {
      return limiter
          .submit(() -> m.manifest(ref.repository(), r, MediaTypes.ALL_MANIFESTS))
          .thenCompose(
              a -> {
                manifests.incrementAndGet();
                kind.incrementAndGet();
                Descriptor root = new Descriptor(a.mediaType(), a.digest(), a.body().length, null);
                return ImageGraph.walk(
                    ImageGraph.Node.parse(root, a.body(), a.mediaType()), Set.of(), fetch);
              });
    }

    private CompletableFuture<Void> fetchBlobs(Registry m, List<Descriptor> blobs) {
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (Descriptor d : blobs) {
        progress.expect(d.size());
        all.add(
            limiter
                .submit(() -> fetchBlob(m, d))
                .handle(
                    (got, err) -> {
                      if (err != null) {
                        problems.add("blob " + d.digest() + ": " + ImageGraph.describe(err));
                        progress.failed();
                        return null;
                      }
                      checkSize(d, got.size());
                      (got.downloaded() ? fetched : cached).incrementAndGet();
                      (got.downloaded() ? bytesFetched : bytesCached).addAndGet(got.size());
                      progress.done(got.size());
                      return null;
                    }));
      }
      return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /**
     * Drives one blob into the store through the registry, which also confirms with the upstream a
     * blob cached for another repository before linking it here; completes once it is published.
     */
    private CompletableFuture<Fetched> fetchBlob(Registry m, Descriptor d) {
      return m.blob(ref.repository(), d.digest())
          .thenCompose(
              src -> {
                if (src instanceof BlobSource.Cached c) {
                  c.lease().close();
                  return CompletableFuture.completedFuture(new Fetched(c.size(), false));
                }
                BlobDownload download = ((BlobSource.Downloading) src).download();
                progress.started(download);
                return download
                    .finished()
                    .whenComplete((p, err) -> progress.stopped(download))
                    .thenApply(p -> new Fetched(download.written(), true));
              });
    }

    private void checkSize(Descriptor d, long actual) {
      if (actual != d.size()) {
        problems.add(
            "blob " + d.digest() + ": the manifest says " + d.size() + " bytes, it has " + actual);
      }
    }

    private WarmReport.Item item() {
      Manifest t = top;
      return new WarmReport.Item(
          ref,
          t == null ? null : t.digest(),
          t == null ? null : t.mediaType(),
          manifests.get(),
          referrers.get(),
          signatures.get(),
          fetched.get(),
          cached.get(),
          bytesFetched.get(),
          bytesCached.get(),
          List.copyOf(problems));
    }
  }

  /** A blob in the store: its size, and whether this warm downloaded it (or found it cached). */
  private record Fetched(long size, boolean downloaded) {}

  /** True when the registry says there is no such manifest (not that it refused its bytes). */
  private static boolean absent(Throwable err) {
    return Futures.cause(err) instanceof RegistryException r
        && r.status() == 404
        && !(r instanceof VerificationException);
  }
}
