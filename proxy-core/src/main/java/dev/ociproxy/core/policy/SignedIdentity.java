package dev.ociproxy.core.policy;

import static java.util.Objects.requireNonNull;

/**
 * What the identity a signature claims ({@code critical.identity.docker-reference}) must say about
 * the image being served, as containers-policy.json's {@code signedIdentity} puts it. The image is
 * named {@code <upstream>/<repository>} with the tag or digest the client asked for.
 */
public sealed interface SignedIdentity {
  /** True when a signature claiming {@code signed} may stand for {@code requested}. */
  boolean matches(DockerReference requested, DockerReference signed);

  /**
   * The default: by tag, the signature must name exactly that repository and tag; by digest, the
   * repository (the digest itself is checked against the payload apart from the identity).
   */
  record MatchRepoDigestOrExact() implements SignedIdentity {
    @Override
    public boolean matches(DockerReference requested, DockerReference signed) {
      if (requested.tag() != null) {
        return signed.toString().equals(requested.toString());
      }
      return signed.name().equals(requested.name());
    }
  }

  /** Any tag or digest of the same repository (what cosign's own signatures need: no tag). */
  record MatchRepository() implements SignedIdentity {
    @Override
    public boolean matches(DockerReference requested, DockerReference signed) {
      return signed.name().equals(requested.name());
    }
  }

  /** Exactly the reference asked for: the same tag, or the same digest. */
  record MatchExact() implements SignedIdentity {
    @Override
    public boolean matches(DockerReference requested, DockerReference signed) {
      return signed.toString().equals(requested.toString());
    }
  }

  /** The signature must name this one reference, whatever was asked for. */
  record ExactReference(String dockerReference) implements SignedIdentity {
    public ExactReference {
      requireNonNull(dockerReference, "dockerReference");
    }

    @Override
    public boolean matches(DockerReference requested, DockerReference signed) {
      DockerReference want = DockerReference.parse(dockerReference);
      return want != null && signed.toString().equals(want.toString());
    }
  }

  /** The signature must name this repository, whatever the image is called here. */
  record ExactRepository(String dockerRepository) implements SignedIdentity {
    public ExactRepository {
      requireNonNull(dockerRepository, "dockerRepository");
    }

    @Override
    public boolean matches(DockerReference requested, DockerReference signed) {
      return signed.name().equals(DockerReference.normalizedName(dockerRepository));
    }
  }

  /**
   * For mirrors: an image whose name starts with {@code prefix} is looked for under {@code
   * signedPrefix} instead (so {@code mirror.local/app} may carry a signature made for {@code
   * vendor.example.com/app}), then matched as {@link MatchRepoDigestOrExact}.
   */
  record RemapIdentity(String prefix, String signedPrefix) implements SignedIdentity {
    public RemapIdentity {
      requireNonNull(prefix, "prefix");
      requireNonNull(signedPrefix, "signedPrefix");
    }

    @Override
    public boolean matches(DockerReference requested, DockerReference signed) {
      String name = requested.name();
      // Whole path components only: prefix a/b covers a/b and a/b/c, never a/bc.
      boolean covered = name.equals(prefix) || name.startsWith(prefix + "/");
      DockerReference remapped =
          covered
              ? new DockerReference(
                  DockerReference.normalizedName(signedPrefix + name.substring(prefix.length())),
                  requested.tag(),
                  requested.digest())
              : requested;
      return new MatchRepoDigestOrExact().matches(remapped, signed);
    }
  }
}
