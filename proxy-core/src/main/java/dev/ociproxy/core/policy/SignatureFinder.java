package dev.ociproxy.core.policy;

import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.Referrers;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.verify.VerificationException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Finds the signatures of one manifest through a {@link Registry} (the pull-through online, the
 * cache offline), so every signature manifest, payload and bundle is fetched by digest and hashed
 * like any content: cosign's {@code sha256-<hex>.sig} tag, then the bundles among the manifest's
 * verified referrers.
 */
final class SignatureFinder {
  /** Larger than any signature payload or bundle (a bundle with a certificate chain is ~10 KiB). */
  static final int MAX_SIGNATURE_BYTES = 64 * 1024;

  /** Bundles read per manifest at most; a referrers list may be long (SBOMs, attestations). */
  static final int MAX_BUNDLES = 16;

  private static final List<String> SIGNATURE_MANIFESTS =
      List.of(MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST);

  /**
   * What was found.
   *
   * @param unavailable what could not be fetched for a reason that may pass (the upstream down), so
   *     a refusal resting on it is not remembered
   * @param damaged signatures whose bytes were refused (a payload that does not hash to its
   *     digest), as a refusal names them
   */
  record Found(List<SignatureEnvelope> envelopes, List<String> unavailable, List<String> damaged) {
    static final Found NONE = new Found(List.of(), List.of(), List.of());

    static Found of(List<Found> parts) {
      List<SignatureEnvelope> e = new ArrayList<>();
      List<String> u = new ArrayList<>();
      List<String> d = new ArrayList<>();
      for (Found f : parts) {
        e.addAll(f.envelopes());
        u.addAll(f.unavailable());
        d.addAll(f.damaged());
      }
      return new Found(e, u, d);
    }

    /** A failure to fetch {@code what}: a refusal of its bytes, or a passing one. */
    static Found failed(String what, Throwable err) {
      Throwable c = Futures.cause(err);
      String problem = what + ": " + c.getMessage();
      return c instanceof VerificationException
          ? new Found(List.of(), List.of(), List.of(problem))
          : new Found(List.of(), List.of(problem), List.of());
    }
  }

  private final Registry source;

  SignatureFinder(Registry source) {
    this.source = source;
  }

  /** Every signature of {@code digest} in {@code repo}; never fails (problems are in Found). */
  CompletableFuture<Found> find(RepositoryName repo, Digest digest) {
    return classic(repo, digest)
        .thenCombine(bundles(repo, digest), (a, b) -> Found.of(List.of(a, b)));
  }

  private CompletableFuture<Found> classic(RepositoryName repo, Digest digest) {
    Tag tag = SignatureArtifacts.classicTag(digest);
    if (tag == null) {
      return CompletableFuture.completedFuture(Found.NONE);
    }
    return source
        .manifest(repo, tag, SIGNATURE_MANIFESTS)
        .handle(
            (m, err) ->
                err != null
                    ? CompletableFuture.completedFuture(
                        absent(err) ? Found.NONE : Found.failed("signature tag " + tag, err))
                    : payloads(repo, tag, m))
        .thenCompose(Function.identity());
  }

  private CompletableFuture<Found> payloads(RepositoryName repo, Tag tag, Manifest m) {
    List<CompletableFuture<Found>> parts = new ArrayList<>();
    List<SimpleSigning.Layer> layers = SimpleSigning.layers(m.body());
    for (int i = 0; i < layers.size(); i++) {
      SimpleSigning.Layer l = layers.get(i);
      String where = tag + " layer " + i;
      parts.add(
          BoundedRead.read(source, repo, l.payload(), MAX_SIGNATURE_BYTES)
              .handle(
                  (bytes, err) ->
                      err != null
                          ? Found.failed(where, err)
                          : new Found(
                              List.of(SimpleSigning.envelope(where, bytes, l.signature())),
                              List.of(),
                              List.of())));
    }
    return all(parts);
  }

  private CompletableFuture<Found> bundles(RepositoryName repo, Digest digest) {
    return source
        .referrers(repo, digest)
        .handle(
            (list, err) ->
                err != null
                    ? CompletableFuture.completedFuture(
                        absent(err) ? Found.NONE : Found.failed("referrers of " + digest, err))
                    : bundlesIn(repo, list))
        .thenCompose(Function.identity());
  }

  private CompletableFuture<Found> bundlesIn(RepositoryName repo, Referrers list) {
    List<CompletableFuture<Found>> parts = new ArrayList<>();
    for (Referrers.Referrer r : list.manifests()) {
      if (parts.size() == MAX_BUNDLES) {
        break;
      }
      if (!SignatureArtifacts.isBundle(r.artifactType())) {
        continue;
      }
      String where = "bundle " + r.digest();
      parts.add(
          source
              .manifest(repo, r.digest(), List.of(MediaTypes.OCI_MANIFEST))
              .thenCompose(m -> bundleLayers(repo, where, m))
              .handle((f, err) -> err != null ? Found.failed(where, err) : f));
    }
    return all(parts);
  }

  private CompletableFuture<Found> bundleLayers(RepositoryName repo, String where, Manifest m) {
    List<CompletableFuture<Found>> parts = new ArrayList<>();
    for (Descriptor d : layersOf(m)) {
      if (!Dsse.isBundle(d.mediaType())) {
        continue;
      }
      parts.add(
          BoundedRead.read(source, repo, d, MAX_SIGNATURE_BYTES)
              .handle(
                  (bytes, err) ->
                      err != null
                          ? Found.failed(where, err)
                          : new Found(Dsse.envelopes(where, bytes), List.of(), List.of())));
    }
    return all(parts);
  }

  /** The layers of an image manifest (its blobs without the config). */
  private static List<Descriptor> layersOf(Manifest m) {
    try {
      List<Descriptor> blobs = ManifestDocument.parse(m.body(), null).blobs();
      return blobs.size() <= 1 ? List.of() : blobs.subList(1, blobs.size());
    } catch (RegistryException e) {
      return List.of();
    }
  }

  private static CompletableFuture<Found> all(List<CompletableFuture<Found>> parts) {
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(v -> Found.of(parts.stream().map(CompletableFuture::join).toList()));
  }

  /** True when the registry says there is nothing (no such tag or repository). */
  private static boolean absent(Throwable err) {
    return Futures.cause(err) instanceof RegistryException r
        && r.status() == 404
        && !(r instanceof VerificationException);
  }
}
