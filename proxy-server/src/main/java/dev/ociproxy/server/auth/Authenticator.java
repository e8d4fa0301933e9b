package dev.ociproxy.server.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a request's {@code Authorization} header into a {@link Principal}. Basic passwords are
 * checked with bcrypt on a small pool of its own (never on an event loop), and a success is
 * remembered for a few minutes under a hash of the credentials. Failures are counted per client
 * address and logged without the secret. Thread-safe.
 */
public final class Authenticator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);
  private static final Duration REMEMBER = Duration.ofMinutes(5);

  private final CredentialStore store;
  private final String realm;
  private final MeterRegistry meters;
  private final ExecutorService bcryptPool =
      Executors.newFixedThreadPool(2, new DefaultThreadFactory("auth-bcrypt", true));
  private final Cache<String, Principal> verified =
      Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(REMEMBER).build();
  private final Cache<String, AtomicInteger> failuresByAddress =
      Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(Duration.ofHours(1)).build();

  public Authenticator(CredentialStore store, String realm, MeterRegistry meters) {
    this.store = store;
    this.realm = realm;
    this.meters = meters;
  }

  /** The {@code WWW-Authenticate} value sent with every 401. */
  public String challenge() {
    return "Basic realm=\"" + realm.replace("\"", "") + "\"";
  }

  /**
   * Completes with the principal, with null when the request carries no credentials, or
   * exceptionally with a 401 when it carries wrong ones.
   */
  public CompletableFuture<Principal> authenticate(
      @Nullable String authorization, SocketAddress remote) {
    if (authorization == null || authorization.isBlank()) {
      return CompletableFuture.completedFuture(null);
    }
    String h = authorization.strip();
    int sp = h.indexOf(' ');
    String scheme =
        sp < 0 ? h.toLowerCase(Locale.ROOT) : h.substring(0, sp).toLowerCase(Locale.ROOT);
    String value = sp < 0 ? "" : h.substring(sp + 1).strip();
    if (scheme.equals("bearer")) {
      Principal p = store.checkToken(value);
      return p != null
          ? CompletableFuture.completedFuture(p)
          : fail(remote, "unknown bearer token", null);
    }
    if (!scheme.equals("basic")) {
      return fail(remote, "unsupported authorization scheme " + abbreviate(scheme), null);
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return fail(remote, "malformed basic credentials", null);
    }
    int colon = decoded.indexOf(':');
    if (colon <= 0) {
      return fail(remote, "malformed basic credentials", null);
    }
    String user = decoded.substring(0, colon);
    String password = decoded.substring(colon + 1);
    String key = CredentialStore.sha256Hex(decoded);
    Principal remembered = verified.getIfPresent(key);
    if (remembered != null) {
      return CompletableFuture.completedFuture(remembered);
    }
    return CompletableFuture.supplyAsync(() -> store.checkPassword(user, password), bcryptPool)
        .thenCompose(
            p -> {
              if (p == null) {
                return fail(remote, "wrong password or unknown user", user);
              }
              verified.put(key, p);
              return CompletableFuture.completedFuture(p);
            });
  }

  private CompletableFuture<Principal> fail(
      SocketAddress remote, String why, @Nullable String user) {
    String addr =
        remote instanceof InetSocketAddress i
            ? i.getAddress().getHostAddress()
            : String.valueOf(remote);
    int n = failuresByAddress.get(addr, a -> new AtomicInteger()).incrementAndGet();
    log.warn(
        "authentication failed from {}{}: {} ({} failure(s) from this address in the last hour)",
        addr,
        user == null ? "" : " user=" + abbreviate(user),
        why,
        n);
    meters.counter("registry_proxy_auth_failures").increment();
    return CompletableFuture.failedFuture(
        new RegistryException(OciErrorCode.UNAUTHORIZED, 401, "authentication failed"));
  }

  private static String abbreviate(String s) {
    String clean = s.replaceAll("[^\\x20-\\x7e]", "?");
    return clean.length() <= 64 ? clean : clean.substring(0, 64) + "…";
  }

  @Override
  public void close() {
    bcryptPool.shutdownNow();
  }
}
