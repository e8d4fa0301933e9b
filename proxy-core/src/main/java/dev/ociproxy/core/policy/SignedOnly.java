package dev.ociproxy.core.policy;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.ManifestHead;
import dev.ociproxy.core.registry.Referrers;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.registry.TagList;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * An upstream under a signature policy: a manifest goes out only when its rule admits it (a trusted
 * signature covers its digest for the name it is served under, or a signed index lists it), and a
 * blob only when an admitted manifest of the repository references it. Everything else is {@code
 * 403 DENIED} with the rule and the reason. Outermost in an upstream's stack, so clients, warm and
 * offline mode see the same policy.
 *
 * <p>Signatures are read from {@code signatures}: the pull-through (verified, cached, stale when
 * the upstream is down) or, offline, the cache alone; never through the pins, which know nothing of
 * signature tags. Verdicts are remembered per (rule, repository, reference, digest) for as long as
 * the signature tag stays fresh; what an admitted manifest admits (an index's platforms, a
 * manifest's blobs) in {@link Admissions}, for an hour.
 */
public final class SignedOnly implements Registry {
  private record VerdictKey(String scope, RepositoryName repo, Reference asked, Digest digest) {}

  private final Registry view;
  private final String upstream;
  private final SignaturePolicy policy;
  private final SignatureFinder finder;
  private final PolicyDecisions decisions;

  /** Bounded: clients choose what they ask for. */
  private final AsyncCache<VerdictKey, Verdict> verdicts;

  private final Admissions admitted = new Admissions();

  /**
   * @param view what is served (the pull-through, the offline cache, or the pins over either)
   * @param signatures where signatures are read: {@code view} without pins
   * @param freshness how long a verdict is reused: the upstream's tag freshness
   */
  public SignedOnly(
      Registry view,
      Registry signatures,
      SignaturePolicy policy,
      Duration freshness,
      MeterRegistry meters) {
    this.view = view;
    this.upstream = view.name();
    this.policy = policy;
    this.finder = new SignatureFinder(signatures);
    this.decisions = new PolicyDecisions(meters);
    this.verdicts =
        Caffeine.newBuilder()
            .maximumSize(50_000)
            .expireAfterWrite(freshness)
            .executor(Runnable::run)
            .buildAsync();
  }

  @Override
  public String name() {
    return upstream;
  }

  @Override
  public CompletableFuture<Manifest> manifest(
      RepositoryName repo, Reference ref, List<String> accept) {
    Rule rule = policy.rule(upstream, repo);
    if (rule.acceptsAnything()) {
      decisions.count(upstream, ACCEPTED);
      return view.manifest(repo, ref, accept);
    }
    if (rule.rejects()) {
      return CompletableFuture.failedFuture(rejected(rule, repo, ref));
    }
    return view.manifest(repo, ref, accept)
        .thenCompose(
            m -> {
              ManifestDocument doc = parsed(m);
              return judge(rule, repo, ref, m, doc)
                  .thenApply(v -> served(rule, repo, ref, m, doc, v));
            });
  }

  /**
   * A HEAD is answered from the view when a verdict about the digest it names is at hand (a warm
   * pull costs nothing more); otherwise the manifest is fetched and judged as for a GET.
   */
  @Override
  public CompletableFuture<ManifestHead> manifestHead(
      RepositoryName repo, Reference ref, List<String> accept) {
    Rule rule = policy.rule(upstream, repo);
    if (rule.acceptsAnything()) {
      decisions.count(upstream, ACCEPTED);
      return view.manifestHead(repo, ref, accept);
    }
    if (rule.rejects()) {
      return CompletableFuture.failedFuture(rejected(rule, repo, ref));
    }
    return view.manifestHead(repo, ref, accept)
        .thenCompose(
            h -> {
              Verdict known = known(rule, repo, ref, h.digest());
              if (known != null && known.admitted()) {
                decisions.count(upstream, known);
                return CompletableFuture.completedFuture(h);
              }
              return manifest(repo, ref, accept).thenApply(ManifestHead::of);
            });
  }

  @Override
  public CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    RegistryException refused = blobRefusal(repo, digest);
    return refused != null ? CompletableFuture.failedFuture(refused) : view.blob(repo, digest);
  }

  @Override
  public CompletableFuture<BlobSource> blobOrRedirect(RepositoryName repo, Digest digest) {
    RegistryException refused = blobRefusal(repo, digest);
    return refused != null
        ? CompletableFuture.failedFuture(refused)
        : view.blobOrRedirect(repo, digest);
  }

  @Override
  public CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    RegistryException refused = blobRefusal(repo, digest);
    return refused != null ? CompletableFuture.failedFuture(refused) : view.blobSize(repo, digest);
  }

  /** Tag lists carry no content: what they name is judged when it is fetched. */
  @Override
  public CompletableFuture<TagList> tagList(RepositoryName repo, String query) {
    return view.tagList(repo, query);
  }

  /** Referrers lists carry no content: the referrers are judged when they are fetched. */
  @Override
  public CompletableFuture<Referrers> referrers(RepositoryName repo, Digest subject) {
    return view.referrers(repo, subject);
  }

  /**
   * Re-decides {@code digest} as served under {@code asked} from the signatures at hand now,
   * without remembering the verdict (for {@code audit}).
   */
  public CompletableFuture<Verdict> recheck(RepositoryName repo, Reference asked, Digest digest) {
    Rule rule = policy.rule(upstream, repo);
    if (rule.acceptsAnything()) {
      return CompletableFuture.completedFuture(ACCEPTED);
    }
    if (rule.rejects()) {
      return CompletableFuture.completedFuture(
          Verdict.refuse(Verdict.Reason.REJECTED, "rule " + quoted(rule) + " rejects everything"));
    }
    return finder
        .find(repo, digest)
        .thenApply(found -> RuleCheck.decide(rule, requested(repo, asked), digest, found));
  }

  private static final Verdict ACCEPTED =
      Verdict.admit(Verdict.Reason.ACCEPT_ANYTHING, "insecureAcceptAnything", null);

  private CompletableFuture<Verdict> judge(
      Rule rule, RepositoryName repo, Reference ref, Manifest m, @Nullable ManifestDocument doc) {
    if (doc != null && Artifacts.isArtifact(doc)) {
      return CompletableFuture.completedFuture(
          Verdict.admit(Verdict.Reason.ARTIFACT, "no filesystem layers", null));
    }
    Verdict known = known(rule, repo, ref, m.digest());
    if (known != null) {
      return CompletableFuture.completedFuture(known);
    }
    VerdictKey k = new VerdictKey(rule.scope(), repo, ref, m.digest());
    return verdicts
        .get(k, (key, executor) -> verify(rule, repo, ref, m.digest()))
        .thenApply(
            v -> {
              if (!v.lasting()) {
                verdicts.synchronous().invalidate(k); // the next request asks again
              }
              return v;
            });
  }

  /** A verdict at hand without fetching anything: an admission, or one remembered. */
  private @Nullable Verdict known(Rule rule, RepositoryName repo, Reference ref, Digest digest) {
    if (ref instanceof Digest) {
      Verdict.Reason r = admitted.of(rule, repo, digest);
      if (r == Verdict.Reason.LISTED_IN_SIGNED_INDEX) {
        return Verdict.admit(r, "listed in an admitted index", null);
      }
    }
    CompletableFuture<Verdict> f =
        verdicts.getIfPresent(new VerdictKey(rule.scope(), repo, ref, digest));
    return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
  }

  private CompletableFuture<Verdict> verify(
      Rule rule, RepositoryName repo, Reference ref, Digest digest) {
    return finder
        .find(repo, digest)
        .thenApply(
            found -> {
              Verdict v = RuleCheck.decide(rule, requested(repo, ref), digest, found);
              decisions.reached(
                  upstream, repo.value(), ref.toString(), digest.toString(), rule.scope(), v);
              return v;
            });
  }

  private Manifest served(
      Rule rule,
      RepositoryName repo,
      Reference ref,
      Manifest m,
      @Nullable ManifestDocument doc,
      Verdict v) {
    decisions.count(upstream, v);
    if (!v.admitted()) {
      throw denied(rule, repo, ref, m.digest(), v);
    }
    if (doc != null) {
      admitted.referencedBy(rule, repo, doc);
    }
    return m;
  }

  /** The verified manifest's document; null when it is none we read (it then admits nothing). */
  private static @Nullable ManifestDocument parsed(Manifest m) {
    try {
      ManifestDocument doc = ManifestDocument.parse(m.body(), null);
      doc.manifests(); // descriptors are parsed lazily: a bad one is found here, not while
      // admitting
      doc.blobs();
      return doc;
    } catch (RegistryException e) {
      return null;
    }
  }

  private @Nullable RegistryException blobRefusal(RepositoryName repo, Digest digest) {
    Rule rule = policy.rule(upstream, repo);
    if (rule.acceptsAnything()) {
      return null; // not counted: blobs under an open rule are every pull's bulk
    }
    if (rule.rejects()) {
      return rejected(rule, repo, digest);
    }
    if (admitted.of(rule, repo, digest) != null) {
      decisions.count(upstream, REFERENCED);
      return null;
    }
    Verdict v =
        Verdict.refuse(
            Verdict.Reason.NOT_ADMITTED,
            "no manifest of "
                + repo
                + " admitted in the last "
                + Admissions.PERIOD.toMinutes()
                + " minutes references it (pull the image by tag or digest first)");
    decisions.count(upstream, v);
    decisions.reached(
        upstream, repo.value(), digest.toString(), digest.toString(), rule.scope(), v);
    return denied(rule, repo, digest, digest, v);
  }

  private static final Verdict REFERENCED =
      Verdict.admit(Verdict.Reason.REFERENCED, "referenced by an admitted manifest", null);

  private RegistryException rejected(Rule rule, RepositoryName repo, Reference ref) {
    Verdict v =
        Verdict.refuse(Verdict.Reason.REJECTED, "rule " + quoted(rule) + " rejects everything");
    decisions.count(upstream, v);
    return new RegistryException(
        OciErrorCode.DENIED,
        403,
        what(repo, ref) + " refused by the signature policy: " + v.detail());
  }

  private RegistryException denied(
      Rule rule, RepositoryName repo, Reference ref, Digest digest, Verdict v) {
    return new RegistryException(
        OciErrorCode.DENIED,
        403,
        what(repo, ref)
            + (ref.equals(digest) ? "" : " (" + digest + ")")
            + " refused by the signature policy, rule "
            + quoted(rule)
            + ": "
            + v.reason().tag()
            + ": "
            + v.detail());
  }

  private String what(RepositoryName repo, Reference ref) {
    return upstream + "/" + repo + (ref instanceof Tag ? ":" : "@") + ref;
  }

  private static String quoted(Rule rule) {
    return rule.scope().isEmpty() ? "'' (docker transport default)" : "'" + rule.scope() + "'";
  }

  private DockerReference requested(RepositoryName repo, Reference ref) {
    String name = DockerReference.normalizedName(upstream + "/" + repo.value());
    return ref instanceof Tag t
        ? new DockerReference(name, t.value(), null)
        : new DockerReference(name, null, ref.toString());
  }
}
