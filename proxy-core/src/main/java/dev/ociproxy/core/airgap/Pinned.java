package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.ManifestHead;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.registry.Referrers;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.registry.TagList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * An upstream with pins: a pinned tag is answered with its pinned digest whatever the upstream's
 * tag says now, and under {@code pinned-only} whatever no pin reaches is refused with {@code
 * DENIED} before the wrapped registry sees it, so a refused request never causes a fetch. Wraps the
 * pull-through (online: drift from the pins is watched) or the offline view.
 */
public final class Pinned implements Registry {
  /** Told when a pinned tag was answered with its pin; must return at once. */
  private interface PinWatch {
    void served(RepositoryName repo, Tag tag, Digest pin);
  }

  /** Answers tag lists: from the upstream, or from the pins (and what is held). */
  private interface TagLister {
    CompletableFuture<TagList> list(RepositoryName repo, String query);
  }

  private final Registry inner;
  private final String upstream;
  private final Supplier<Pins> pins;
  private final PinClosure closure;
  private final boolean pinnedOnly;
  private final PinWatch watch;
  private final TagLister tags;

  private Pinned(
      Registry inner,
      Supplier<Pins> pins,
      PinClosure closure,
      boolean pinnedOnly,
      PinWatch watch,
      TagLister tags) {
    this.inner = inner;
    this.upstream = inner.name();
    this.pins = pins;
    this.closure = closure;
    this.pinnedOnly = pinnedOnly;
    this.watch = watch;
    this.tags = tags;
  }

  /** Pins over an online upstream: drift is watched; pinned-only lists the pinned tags alone. */
  static Pinned online(
      PullThrough upstream, Supplier<Pins> pins, boolean pinnedOnly, DriftLog drift) {
    TagLister tags =
        pinnedOnly
            ? (repo, query) -> listed(repo, pins.get().tags(upstream.name(), repo), List.of())
            : upstream::tagList;
    return new Pinned(
        upstream,
        pins,
        new PinClosure(upstream.store()),
        pinnedOnly,
        (repo, tag, pin) -> drift.check(upstream, repo, tag, pin),
        tags);
  }

  /**
   * Pins over an offline upstream: nothing to watch; tag lists are the pinned and the held tags.
   */
  static Pinned offline(
      CachedOnly held, PullThrough upstream, Supplier<Pins> pins, boolean pinnedOnly) {
    return new Pinned(
        held,
        pins,
        new PinClosure(upstream.store()),
        pinnedOnly,
        (repo, tag, pin) -> {},
        (repo, query) -> listed(repo, pins.get().tags(upstream.name(), repo), held.tags(repo)));
  }

  private static CompletableFuture<TagList> listed(
      RepositoryName repo, List<String> pinned, List<String> held) {
    TreeSet<String> all = new TreeSet<>(pinned);
    all.addAll(held);
    return CompletableFuture.completedFuture(TagList.of(repo, all));
  }

  @Override
  public String name() {
    return upstream;
  }

  @Override
  public CompletableFuture<Manifest> manifest(
      RepositoryName repo, Reference ref, List<String> accept) {
    RegistryException denied = denial(repo, ref);
    if (denied != null) {
      return CompletableFuture.failedFuture(denied);
    }
    Digest pin = ref instanceof Tag tag ? pins.get().get(upstream, repo, tag) : null;
    if (pin == null) {
      return inner.manifest(repo, ref, accept);
    }
    watch.served(repo, (Tag) ref, pin);
    // By digest, through this view again: the policy applies to the pinned digest too.
    return manifest(repo, pin, accept);
  }

  /** An unpinned tag as the view below answers its HEAD (a stale one costs an upstream HEAD). */
  @Override
  public CompletableFuture<ManifestHead> manifestHead(
      RepositoryName repo, Reference ref, List<String> accept) {
    boolean unpinnedTag = ref instanceof Tag tag && pins.get().get(upstream, repo, tag) == null;
    return unpinnedTag && denial(repo, ref) == null
        ? inner.manifestHead(repo, ref, accept)
        : manifest(repo, ref, accept).thenApply(ManifestHead::of);
  }

  @Override
  public CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    RegistryException denied = denial(repo, digest);
    return denied != null ? CompletableFuture.failedFuture(denied) : inner.blob(repo, digest);
  }

  @Override
  public CompletableFuture<BlobSource> blobOrRedirect(RepositoryName repo, Digest digest) {
    RegistryException denied = denial(repo, digest);
    return denied != null
        ? CompletableFuture.failedFuture(denied)
        : inner.blobOrRedirect(repo, digest);
  }

  @Override
  public CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    RegistryException denied = denial(repo, digest);
    return denied != null ? CompletableFuture.failedFuture(denied) : inner.blobSize(repo, digest);
  }

  @Override
  public CompletableFuture<TagList> tagList(RepositoryName repo, String query) {
    return tags.list(repo, query);
  }

  @Override
  public CompletableFuture<Referrers> referrers(RepositoryName repo, Digest subject) {
    RegistryException denied = denial(repo, subject);
    return denied != null ? CompletableFuture.failedFuture(denied) : inner.referrers(repo, subject);
  }

  /** The pinned-only refusal of {@code ref}, or null when it may be served. */
  private @Nullable RegistryException denial(RepositoryName repo, Reference ref) {
    if (!pinnedOnly) {
      return null;
    }
    Pins p = pins.get();
    if (ref instanceof Tag t) {
      return p.get(upstream, repo, t) != null ? null : refusal(repo + ":" + t, "is not pinned");
    }
    Digest d = (Digest) ref;
    return closure.reachable(p, upstream, repo, d)
        ? null
        : refusal(repo + "@" + d, "is not reachable from any pin");
  }

  private RegistryException refusal(String image, String why) {
    return new RegistryException(
        OciErrorCode.DENIED,
        403,
        upstream
            + "/"
            + image
            + " "
            + why
            + ", and upstream "
            + upstream
            + " serves pinned images only (policy: pinned-only)");
  }
}
