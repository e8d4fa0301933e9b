package dev.ociproxy.core.cluster;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * How this replica finds the others and proves it is one of them ({@code cluster:} in the config).
 *
 * @param peers every replica's {@code host:port} (this one's may be listed too); empty with a DNS
 *     name
 * @param peersDns a {@code host:port} whose name resolves to every replica's address, or null
 * @param advertise how the others reach this replica ({@code host:port}), spelled as they list it
 * @param secret what peers authenticate each other with (at least {@link #MIN_SECRET_LENGTH}
 *     characters); it never goes on the wire, only MACs made with it
 * @param checkInterval how often members are re-resolved and health-checked
 */
public record ClusterOptions(
    List<String> peers,
    @Nullable String peersDns,
    String advertise,
    String secret,
    Duration checkInterval) {
  public static final int MIN_SECRET_LENGTH = 32;
  public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(2);

  /** A peer that has not connected within this is skipped: the upstream is asked instead. */
  public static final Duration PEER_CONNECT_TIMEOUT = Duration.ofSeconds(1);

  /**
   * A peer whose answer has not begun within this is skipped. Short, because the owner answers as
   * soon as its own upstream download has started: availability first, dedup second.
   */
  public static final Duration PEER_FIRST_BYTE_TIMEOUT = Duration.ofSeconds(5);

  /**
   * The whole answer of a tag's owner (headers and body) must arrive within this, or the asking
   * replica revalidates with the upstream itself. The owner answers from its record or after one
   * upstream HEAD (and a GET when the tag moved), so as short as the blob path's first byte.
   */
  public static final Duration PEER_TAG_TIMEOUT = PEER_FIRST_BYTE_TIMEOUT;

  /** Longest silence in the middle of a peer's body before the transfer is given up. */
  public static final Duration PEER_READ_TIMEOUT = Duration.ofSeconds(30);

  public ClusterOptions {
    peers = List.copyOf(requireNonNull(peers, "peers"));
    requireNonNull(advertise, "advertise");
    requireNonNull(secret, "secret");
    requireNonNull(checkInterval, "checkInterval");
    if (secret.length() < MIN_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "secret: "
              + secret.length()
              + " characters (expected: at least "
              + MIN_SECRET_LENGTH
              + ")");
    }
  }

  public ClusterOptions(
      List<String> peers, @Nullable String peersDns, String advertise, String secret) {
    this(peers, peersDns, advertise, secret, DEFAULT_CHECK_INTERVAL);
  }

  @Override
  public String toString() {
    // Never print the secret.
    return "ClusterOptions[peers="
        + peers
        + ", peersDns="
        + peersDns
        + ", advertise="
        + advertise
        + "]";
  }
}
