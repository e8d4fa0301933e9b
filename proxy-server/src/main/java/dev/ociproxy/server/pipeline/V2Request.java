package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.Registry;
import org.jspecify.annotations.Nullable;

/** A parsed, validated read-API request. No handler after the router sees a path string. */
sealed interface V2Request {
  /** {@code GET /v2/}. */
  record ApiVersionCheck() implements V2Request {}

  /** A request aimed at one repository of one upstream. */
  sealed interface Scoped extends V2Request {
    Registry registry();

    RepositoryName repository();

    /** The repository name as the client spelled it (with any upstream prefix). */
    String clientName();
  }

  record GetManifest(
      Registry registry,
      RepositoryName repository,
      String clientName,
      Reference reference,
      boolean head)
      implements Scoped {}

  record GetBlob(
      Registry registry, RepositoryName repository, String clientName, Digest digest, boolean head)
      implements Scoped {}

  record ListTags(Registry registry, RepositoryName repository, String clientName, String query)
      implements Scoped {}

  /** {@code GET /v2/<name>/referrers/<digest>}; {@code artifactType} is the filter, or null. */
  record GetReferrers(
      Registry registry,
      RepositoryName repository,
      String clientName,
      Digest subject,
      @Nullable String artifactType,
      boolean head)
      implements Scoped {}

  /**
   * A low-cardinality name for the metrics' route tag: base, manifest, blob, referrers, tags (or
   * other).
   */
  static String routeName(V2Request route) {
    if (route instanceof ApiVersionCheck) {
      return "base";
    } else if (route instanceof GetManifest) {
      return "manifest";
    } else if (route instanceof GetBlob) {
      return "blob";
    } else if (route instanceof GetReferrers) {
      return "referrers";
    }
    return route instanceof ListTags ? "tags" : "other";
  }
}
