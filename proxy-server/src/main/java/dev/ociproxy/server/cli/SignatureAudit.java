package dev.ociproxy.server.cli;

import dev.ociproxy.core.airgap.CachedOnly;
import dev.ociproxy.core.cache.TagCatalog;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.policy.SignaturePolicy;
import dev.ociproxy.core.policy.SignedOnly;
import dev.ociproxy.core.policy.Verdict;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.PullThrough;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * The signature half of {@code audit}: every cached tag of a repository under a signature rule is
 * judged again, from the cache alone (the signatures cached or imported with it, never the
 * upstream), by the policy configured now, so an image that no longer satisfies it (a key removed,
 * a rule tightened) is reported. Signature, attestation and referrers tags are not images and are
 * passed by.
 */
final class SignatureAudit {
  /** cosign's {@code sha256-<hex>.sig/.att/.sbom} tags and the referrers tag schema's. */
  private static final Pattern ARTIFACT_TAG =
      Pattern.compile("sha(256|512)-[0-9a-f]+(\\.(sig|att|sbom))?");

  private static final long TIMEOUT_SECONDS = 60;

  private SignatureAudit() {}

  /** Prints one line per image under a signature rule; returns how many fail the policy. */
  static int run(CliContext ctx, SignaturePolicy policy, PrintStream out)
      throws UsageException, InterruptedException {
    Map<String, SignedOnly> judges = new HashMap<>();
    int checked = 0;
    int failed = 0;
    for (TagCatalog.Name n : ctx.store().catalog().names()) {
      if (!ctx.upstreamNames().contains(n.upstream()) || ARTIFACT_TAG.matcher(n.tag()).matches()) {
        continue;
      }
      RepositoryName repo = new RepositoryName(n.repository());
      if (policy.rule(n.upstream(), repo).acceptsAnything()) {
        continue;
      }
      TagIndex.Entry entry = ctx.store().catalog().entry(n);
      PullThrough held = ctx.pullThrough(n.upstream());
      Manifest m = entry == null ? null : held.cachedManifest(entry.digest());
      if (m == null) {
        continue; // the tag's manifest was evicted since: nothing of it is served from here
      }
      String head = n.upstream() + "/" + n.repository() + ":" + n.tag() + " " + m.digest();
      SignedOnly judge =
          judges.computeIfAbsent(
              n.upstream(),
              u -> {
                CachedOnly cache = new CachedOnly(held);
                return new SignedOnly(
                    cache, cache, policy, Duration.ZERO, new SimpleMeterRegistry());
              });
      checked++;
      try {
        Verdict v =
            judge
                .recheck(repo, new Tag(n.tag()), m.digest())
                .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (v.admitted()) {
          out.println("OK      " + head + " (" + v.reason().tag() + ", key " + v.key() + ")");
        } else {
          failed++;
          out.println("FAIL    " + head + " " + v.reason().tag() + ": " + v.detail());
        }
      } catch (ExecutionException | TimeoutException e) {
        failed++;
        Throwable cause =
            e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        out.println("ERROR   " + head + " (" + cause.getMessage() + ")");
      }
    }
    out.println(
        "audit: "
            + checked
            + " cached image(s) under a signature rule, "
            + failed
            + " no longer satisfy the policy");
    return failed;
  }
}
