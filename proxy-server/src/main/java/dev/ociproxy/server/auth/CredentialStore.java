package dev.ociproxy.server.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The users and static tokens clients may present: an htpasswd file with bcrypt entries (as {@code
 * htpasswd -B} writes them) and a token file with lines {@code <user> <token>}. Secrets are
 * compared in constant time. Immutable; reload by building a new one.
 */
public final class CredentialStore {
  /** A valid bcrypt hash used to spend the same time on unknown users as on known ones. */
  private static final byte[] DUMMY_HASH =
      BCrypt.withDefaults().hash(5, "not-a-real-password".toCharArray());

  private final Map<String, byte[]> bcryptByUser;

  /** sha256(token) → user; hashing first makes the comparison length-independent. */
  private final Map<String, String> userByTokenHash;

  private final Map<String, Set<String>> groupsByUser;

  CredentialStore(
      Map<String, byte[]> bcryptByUser,
      Map<String, String> userByTokenHash,
      Map<String, Set<String>> groupsByUser) {
    this.bcryptByUser = Map.copyOf(bcryptByUser);
    this.userByTokenHash = Map.copyOf(userByTokenHash);
    this.groupsByUser = Map.copyOf(groupsByUser);
  }

  /**
   * Loads the files; either may be null.
   *
   * @throws IllegalArgumentException naming the file and line that is wrong
   */
  public static CredentialStore load(
      @Nullable Path htpasswd, @Nullable Path tokens, Map<String, Set<String>> groupsByUser) {
    Map<String, byte[]> users = new HashMap<>();
    Map<String, String> byToken = new HashMap<>();
    if (htpasswd != null) {
      List<String> lines = read(htpasswd);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int colon = line.indexOf(':');
        String hash = colon < 0 ? "" : line.substring(colon + 1);
        if (colon <= 0 || !hash.matches("\\$2[aby]?\\$\\d\\d\\$[./A-Za-z0-9]{53}")) {
          throw new IllegalArgumentException(
              htpasswd
                  + " line "
                  + (i + 1)
                  + ": expected user:bcrypt-hash (create entries with htpasswd -B)");
        }
        users.put(line.substring(0, colon), hash.getBytes(StandardCharsets.US_ASCII));
      }
    }
    if (tokens != null) {
      List<String> lines = read(tokens);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        String[] parts = line.split("\\s+", -1); // stripped: no empty ends
        if (parts.length != 2 || parts[1].length() < 16) {
          throw new IllegalArgumentException(
              tokens
                  + " line "
                  + (i + 1)
                  + ": expected '<user> <token>' with a token of at least 16 characters");
        }
        byToken.put(sha256Hex(parts[1]), parts[0]);
      }
    }
    return new CredentialStore(users, byToken, groupsByUser);
  }

  private static List<String> read(Path p) {
    try {
      return Files.readAllLines(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  /** Checks a password (slow: bcrypt); returns the principal or null. */
  public @Nullable Principal checkPassword(String user, String password) {
    byte[] hash = bcryptByUser.get(user);
    boolean ok =
        BCrypt.verifyer().verify(password.toCharArray(), hash != null ? hash : DUMMY_HASH).verified;
    return ok && hash != null ? principal(user) : null;
  }

  /** Checks a static bearer token; returns the principal or null. */
  public @Nullable Principal checkToken(String token) {
    String want = sha256Hex(token);
    String found = null;
    for (Map.Entry<String, String> e : userByTokenHash.entrySet()) {
      // Compare against every entry so the time does not depend on which one matched.
      if (MessageDigest.isEqual(
          e.getKey().getBytes(StandardCharsets.US_ASCII),
          want.getBytes(StandardCharsets.US_ASCII))) {
        found = e.getValue();
      }
    }
    return found == null ? null : principal(found);
  }

  private Principal principal(String user) {
    return new Principal(user, groupsByUser.getOrDefault(user, Set.of()));
  }

  static String sha256Hex(String s) {
    try {
      return java.util.HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
