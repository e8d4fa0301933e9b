package dev.ociproxy.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The registry's honest content: blobs and manifests per repository, and tags.
 *
 * <p>All methods synchronize on this store; byte arrays are copied in and handed out shared (the
 * callers only read them).
 */
final class ContentStore {
  /** A stored manifest: its media type (the Content-Type served), bytes and sha256 digest. */
  record Manifest(String mediaType, byte[] bytes, String digest) {}

  private final Map<String, Map<String, byte[]>> blobs = new HashMap<>();
  private final Map<String, Map<String, Manifest>> manifests = new HashMap<>();
  private final Map<String, TreeMap<String, String>> tags = new HashMap<>();

  synchronized void putBlob(String repo, String digest, byte[] bytes) {
    blobs.computeIfAbsent(repo, r -> new HashMap<>()).put(digest, bytes.clone());
  }

  synchronized byte[] blob(String repo, String digest) {
    return blobs.getOrDefault(repo, Map.of()).get(digest);
  }

  synchronized boolean removeBlob(String repo, String digest) {
    return blobs.getOrDefault(repo, new HashMap<>()).remove(digest) != null;
  }

  synchronized void putManifest(String repo, String tag, Manifest m) {
    manifests.computeIfAbsent(repo, r -> new HashMap<>()).put(m.digest(), m);
    if (tag != null) {
      tags.computeIfAbsent(repo, r -> new TreeMap<>()).put(tag, m.digest());
    }
  }

  /** The manifest named by a digest ({@code alg:hex}) or a tag; null when unknown. */
  synchronized Manifest manifest(String repo, String reference) {
    String digest =
        reference.contains(":")
            ? reference
            : tags.getOrDefault(repo, new TreeMap<>()).get(reference);
    return digest == null ? null : manifests.getOrDefault(repo, Map.of()).get(digest);
  }

  /** Every manifest of {@code repo}, in no particular order. */
  synchronized List<Manifest> manifests(String repo) {
    return new ArrayList<>(manifests.getOrDefault(repo, Map.of()).values());
  }

  synchronized boolean removeTag(String repo, String tag) {
    return tags.getOrDefault(repo, new TreeMap<>()).remove(tag) != null;
  }

  synchronized boolean hasRepository(String repo) {
    return blobs.containsKey(repo) || manifests.containsKey(repo) || tags.containsKey(repo);
  }

  /** Tags in lexical order, as distribution lists them. */
  synchronized List<String> tags(String repo) {
    return new ArrayList<>(tags.getOrDefault(repo, new TreeMap<>()).keySet());
  }
}
