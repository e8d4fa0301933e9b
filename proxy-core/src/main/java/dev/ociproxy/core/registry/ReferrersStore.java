package dev.ociproxy.core.registry;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.Directories;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last verified referrers list per repository and subject of one upstream: in memory (bounded
 * by weight) and persisted as one small record per list, {@code
 * referrers/<upstream>/<repo>/_referrers/<alg>-<hex>}, so it survives a restart and an offline
 * upstream can answer from it. ({@code _referrers} cannot clash with a repository component, which
 * cannot start with '_'.) Only verified lists may be put: a reader takes every record for verified.
 * A record is written under {@code tmp/} and renamed into place, so none is ever seen half written;
 * one that does not parse back whole (truncated, corrupt, for another subject, over the bounds) is
 * refused, logged and removed. Thread-safe.
 */
public final class ReferrersStore {
  private static final Logger log = LoggerFactory.getLogger(ReferrersStore.class);

  /**
   * A record is read only up to this size; a bigger verified list is kept in memory but not on
   * disk.
   */
  static final long MAX_RECORD_BYTES = 8L * 1024 * 1024;

  /** Memory kept for lists, all repositories of this upstream together (approximate bytes). */
  private static final long MAX_MEMORY_WEIGHT = 64L * 1024 * 1024;

  // As the configuration checks upstream names (a host, maybe a port): one safe path segment.
  private static final Pattern UPSTREAM_NAME =
      Pattern.compile("[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?");

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /**
   * A verified list and when it was verified.
   *
   * @param referrers never marked stale: staleness is decided when it is served
   */
  public record Entry(Referrers referrers, long verifiedAtMillis) {
    public Entry {
      requireNonNull(referrers, "referrers");
      if (referrers.stale()) {
        referrers = new Referrers(referrers.subject(), referrers.manifests(), false);
      }
    }
  }

  private record Key(RepositoryName repo, Digest subject) {}

  private final ContentStore store;
  private final Path dir;
  private final Executor persist;
  private final Cache<Key, Entry> memory =
      Caffeine.newBuilder()
          .maximumWeight(MAX_MEMORY_WEIGHT)
          .weigher((Key k, Entry e) -> weight(e.referrers()))
          .executor(Runnable::run)
          .build();

  /** A store that persists on the calling thread (import, tools, tests). */
  public ReferrersStore(ContentStore store, String upstream) {
    this(store, upstream, Runnable::run);
  }

  /**
   * @param persist where records are written (see {@link ContentStore#background()}): memory is
   *     updated at once, the file soon after, off the event loop that verified the list
   * @throws IllegalArgumentException when {@code upstream} is not a registry host name
   */
  public ReferrersStore(ContentStore store, String upstream, Executor persist) {
    if (!UPSTREAM_NAME.matcher(upstream).matches()) {
      throw new IllegalArgumentException(
          "upstream name '" + upstream + "' is not a registry host name");
    }
    this.store = requireNonNull(store, "store");
    this.dir = store.root().resolve("referrers").resolve(upstream);
    this.persist = requireNonNull(persist, "persist");
  }

  /** The last verified list of {@code subject} in {@code repo}: from memory, else disk; or null. */
  public @Nullable Entry get(RepositoryName repo, Digest subject) {
    return memory.get(new Key(repo, subject), k -> load(file(k.repo(), k.subject()), k.subject()));
  }

  /**
   * Keeps a verified list of {@code repo} (its subject is the list's): in memory now, on disk soon
   * (on the persisting executor). Call only with a list whose every entry was fetched by digest,
   * hashed, and names the subject.
   */
  public void put(RepositoryName repo, Entry e) {
    Key k = new Key(repo, e.referrers().subject());
    memory.put(k, e);
    persist.execute(() -> write(k, e));
  }

  Path file(RepositoryName repo, Digest subject) {
    // Both are validated against the spec grammar (the digest's hex is lowercase hex), so the path
    // cannot leave the directory.
    return dir.resolve(repo.value())
        .resolve("_referrers")
        .resolve(subject.algorithm().id() + "-" + subject.hex());
  }

  @SuppressWarnings("ReferenceEquality") // identity: an equal entry put since is a write of its own
  private void write(Key k, Entry e) {
    if (memory.getIfPresent(k) != e) {
      return; // superseded (its own write follows) or evicted: writing e would bring back the past
    }
    Path f = file(k.repo(), k.subject());
    try {
      byte[] record = encode(e);
      if (record.length > MAX_RECORD_BYTES) {
        log.warn(
            "referrers of {}@{}: a {}-byte list is kept in memory only (records hold {} at most)",
            k.repo(),
            k.subject(),
            record.length,
            MAX_RECORD_BYTES);
        return;
      }
      Directories.ensureParent(f);
      Path tmp = store.newTempFile();
      Files.write(tmp, record);
      Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException ex) {
      log.warn(
          "could not persist the referrers of {}@{}: {}", k.repo(), k.subject(), ex.toString());
    }
  }

  static byte[] encode(Entry e) throws JsonProcessingException {
    ObjectNode root =
        JSON.createObjectNode()
            .put("subject", e.referrers().subject().toString())
            .put("verifiedAt", e.verifiedAtMillis());
    Referrers.writeManifests(root.putArray("manifests"), e.referrers().manifests());
    return JSON.writeValueAsBytes(root);
  }

  /**
   * The record in {@code f} for {@code subject}, or null when there is none; one that cannot be
   * read back whole is logged and removed, so it is refused once, not on every request.
   */
  static @Nullable Entry load(Path f, Digest subject) {
    try {
      if (Files.size(f) > MAX_RECORD_BYTES) {
        throw new IOException("over " + MAX_RECORD_BYTES + " bytes");
      }
      return decode(Files.readAllBytes(f), subject);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException | RuntimeException e) {
      log.warn("refusing unreadable referrers record {} (removed): {}", f, e.toString());
      ContentStore.deleteQuietly(f);
      return null;
    }
  }

  static Entry decode(byte[] record, Digest subject) throws IOException {
    JsonNode n = JSON.readTree(record);
    if (n == null || !subject.toString().equals(n.path("subject").asText(null))) {
      throw new IOException("not a record of the referrers of " + subject);
    }
    JsonNode at = n.path("verifiedAt");
    JsonNode list = n.path("manifests");
    if (!at.canConvertToExactIntegral() || !list.isArray()) {
      throw new IOException("no verifiedAt or no manifests");
    }
    if (list.size() > ReferrerListing.MAX_ENTRIES) {
      throw new IOException("more than " + ReferrerListing.MAX_ENTRIES + " referrers");
    }
    List<Referrers.Referrer> referrers = new ArrayList<>(list.size());
    for (JsonNode d : list) {
      referrers.add(Referrers.readReferrer(d));
    }
    return new Entry(new Referrers(subject, referrers, false), at.asLong());
  }

  /** About the bytes a list holds in memory, for the bound on what is kept. */
  private static int weight(Referrers r) {
    long w = 64;
    for (Referrers.Referrer e : r.manifests()) {
      w += 256;
      for (var a : e.annotations().entrySet()) {
        w += 2L * (a.getKey().length() + a.getValue().length()) + 64;
      }
    }
    return (int) Math.min(Integer.MAX_VALUE, w);
  }
}
