package dev.ociproxy.core.cluster;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import org.jspecify.annotations.Nullable;

/**
 * Rendezvous (highest random weight) hashing: the owner of a key is the member whose hash of
 * (member, key) is highest. Every replica that sees the same members picks the same owner, and a
 * member that comes or goes moves only the keys it wins or won (Kraken shards its origins the same
 * way). Blob keys are digests, not repositories: layers are shared across repositories. Tag keys
 * ({@link #tagKey}) name the upstream, repository and tag, so one replica revalidates a tag for the
 * fleet.
 */
public final class Rendezvous {
  private Rendezvous() {}

  /** The member that owns {@code key}, or null when there are no members. */
  public static @Nullable String owner(String key, Collection<String> members) {
    String best = null;
    long bestScore = 0;
    for (String m : members) {
      long s = score(m, key);
      // Ties (astronomically rare) go to the smaller name so every replica agrees.
      if (best == null
          || Long.compareUnsigned(s, bestScore) > 0
          || (s == bestScore && m.compareTo(best) < 0)) {
        best = m;
        bestScore = s;
      }
    }
    return best;
  }

  /**
   * The key a tag is owned by: its upstream, repository and tag. The prefix keeps it apart from
   * every digest (which starts with an algorithm name and a colon), so a tag and a blob never share
   * a key.
   */
  public static String tagKey(String upstream, String repository, String tag) {
    return "tag " + upstream + "/" + repository + ":" + tag;
  }

  /** The first 64 bits of SHA-256(member NUL key): uniform and the same on every JVM. */
  static long score(String member, String key) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e); // every JVM has SHA-256
    }
    md.update(member.getBytes(StandardCharsets.UTF_8));
    md.update((byte) 0);
    md.update(key.getBytes(StandardCharsets.UTF_8));
    return ByteBuffer.wrap(md.digest()).getLong();
  }
}
