package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.Mirror;
import dev.ociproxy.core.registry.MirrorGate;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The air-gap rules of one upstream: offline, pinned tags, and the pinned-only policy (only what a
 * pin reaches is served; everything else is refused with {@code DENIED} before any fetch).
 */
final class PinGate implements MirrorGate {
  private final String upstream;
  private final boolean offline;
  private final boolean pinnedOnly;
  private final Supplier<Pins> pins;
  private final PinClosure closure;
  private final DriftLog drift;
  private final Path tagsDir;

  /** @param tagsDir the upstream's tag index directory, listed for offline tag lists */
  PinGate(String upstream, boolean offline, boolean pinnedOnly, Supplier<Pins> pins,
      PinClosure closure, DriftLog drift, Path tagsDir) {
    this.upstream = upstream;
    this.offline = offline;
    this.pinnedOnly = pinnedOnly;
    this.pins = pins;
    this.closure = closure;
    this.drift = drift;
    this.tagsDir = tagsDir;
  }

  @Override
  public boolean offline() {
    return offline;
  }

  @Override
  public Digest pin(RepositoryName repo, Tag tag) {
    return pins.get().get(upstream, repo, tag);
  }

  @Override
  public RegistryException deny(RepositoryName repo, Reference ref) {
    if (!pinnedOnly) {
      return null;
    }
    Pins p = pins.get();
    if (ref instanceof Tag t) {
      return p.get(upstream, repo, t) != null ? null
          : new RegistryException(OciErrorCode.DENIED, 403, upstream + "/" + repo + ":" + t
              + " is not pinned, and upstream " + upstream + " serves pinned images only (policy: pinned-only)");
    }
    Digest d = (Digest) ref;
    return closure.reachable(p, upstream, repo, d) ? null
        : new RegistryException(OciErrorCode.DENIED, 403, upstream + "/" + repo + "@" + d
            + " is not reachable from any pin, and upstream " + upstream
            + " serves pinned images only (policy: pinned-only)");
  }

  @Override
  public void pinServed(Mirror mirror, RepositoryName repo, Tag tag, Digest pin) {
    drift.check(mirror, repo, tag, pin);
  }

  @Override
  public List<String> localTags(RepositoryName repo) {
    if (!offline && !pinnedOnly) {
      return null;
    }
    TreeSet<String> tags = new TreeSet<>(pins.get().tags(upstream, repo));
    if (offline) {
      tags.addAll(indexedTags(repo));
    }
    return List.copyOf(tags);
  }

  /**
   * Tags with a record in the tag index. Reads {@code TagIndex}'s directory layout ({@code
   * <repo>/_tags/<tag>}, temporary files start with '.') because the index has no listing.
   */
  private List<String> indexedTags(RepositoryName repo) {
    Path dir = tagsDir.resolve(repo.value()).resolve("_tags");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    TreeSet<String> out = new TreeSet<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (!name.startsWith(".") && Files.isRegularFile(f)) {
          out.add(name);
        }
      }
    } catch (IOException e) {
      return List.copyOf(out);
    }
    return List.copyOf(out);
  }
}
