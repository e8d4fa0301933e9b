package dev.ociproxy.core.shared;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;

/**
 * Where each kind of record lives in the bucket (under {@code storage.s3.prefix}): the local
 * store's layout, so an operator reads both alike. Digests, repositories and tags are validated
 * types; upstream names are the configured ones.
 *
 * <pre>
 * blobs/&lt;alg&gt;/&lt;hex&gt;                                verified blob bytes
 * manifests/&lt;alg&gt;/&lt;hex&gt;                            verified manifest bytes
 * tags/&lt;upstream&gt;/&lt;repo&gt;/_tags/&lt;tag&gt;              tag record (JSON, with verifiedAt)
 * links/&lt;upstream&gt;/&lt;repo&gt;/_links/&lt;alg&gt;/&lt;hex&gt;     the upstream lists it in this repository
 * links/&lt;upstream&gt;/_served/&lt;alg&gt;/&lt;hex&gt;           the upstream itself served these bytes
 * used/&lt;alg&gt;/&lt;hex&gt;                                 rewritten when a replica hands the blob out
 * </pre>
 *
 * * Tag records, links and served marks are sealed ({@link RecordMac}): a MAC over key and body.
 */
public final class SharedKeys {
  public static final String BLOBS = "blobs/";
  public static final String MANIFESTS = "manifests/";
  public static final String USED = "used/";

  private SharedKeys() {}

  public static String blob(Digest d) {
    return BLOBS + d.algorithm().id() + "/" + d.hex();
  }

  public static String manifest(Digest d) {
    return MANIFESTS + d.algorithm().id() + "/" + d.hex();
  }

  /** An empty object whose time says when a replica last handed the blob out (at most daily). */
  public static String used(Digest d) {
    return USED + d.algorithm().id() + "/" + d.hex();
  }

  static String tag(String upstream, RepositoryName repo, Tag tag) {
    return "tags/" + upstream + "/" + repo.value() + "/_tags/" + tag.value();
  }

  static String link(String upstream, RepositoryName repo, Digest d) {
    return "links/"
        + upstream
        + "/"
        + repo.value()
        + "/_links/"
        + d.algorithm().id()
        + "/"
        + d.hex();
  }

  static String served(String upstream, Digest d) {
    return "links/" + upstream + "/_served/" + d.algorithm().id() + "/" + d.hex();
  }

  /** The digest a blob or manifest key names, or null for any other key. */
  public static @org.jspecify.annotations.Nullable Digest digestOf(String key) {
    String rest =
        key.startsWith(BLOBS)
            ? key.substring(BLOBS.length())
            : key.startsWith(MANIFESTS) ? key.substring(MANIFESTS.length()) : null;
    if (rest == null) {
      return null;
    }
    try {
      return Digest.parse(rest.replace('/', ':'));
    } catch (RuntimeException e) {
      return null;
    }
  }
}
