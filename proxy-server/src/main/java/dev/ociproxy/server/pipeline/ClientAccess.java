package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.Authenticator;
import dev.ociproxy.server.auth.Principal;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.net.SocketAddress;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Who a client is and whether it may make a routed request: checked before anything is read from
 * the cache or fetched upstream. Thread-safe; one instance serves every channel.
 */
final class ClientAccess {
  private final @Nullable Authenticator authenticator;
  private final AccessPolicy policy;

  /**
   * @param authenticator null when client authentication is off
   */
  ClientAccess(@Nullable Authenticator authenticator, AccessPolicy policy) {
    this.authenticator = authenticator;
    this.policy = policy;
  }

  /**
   * The client's principal (null when anonymous), or a failure with the 401 or 403 to answer.
   * Already complete when authentication is off.
   */
  CompletableFuture<Principal> check(HttpRequest req, V2Request route, SocketAddress remote) {
    if (authenticator == null) {
      try {
        authorize(null, route);
        return CompletableFuture.completedFuture(null);
      } catch (RegistryException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    return authenticator
        .authenticate(req.headers().get(HttpHeaderNames.AUTHORIZATION), remote)
        .thenApply(
            principal -> {
              authorize(principal, route);
              return principal;
            });
  }

  private void authorize(@Nullable Principal principal, V2Request route) {
    if (route instanceof V2Request.Scoped s) {
      policy.check(principal, s.registry().name(), s.repository().value());
    } else if (policy.authEnabled() && principal == null) {
      // /v2/ answers 401 so clients discover that (and how) to authenticate.
      throw new RegistryException(OciErrorCode.UNAUTHORIZED, 401, "authentication required");
    }
  }

  /** Adds the challenge to a 401, telling the client how to authenticate. */
  void challenge(FullHttpResponse r) {
    if (r.status().code() == 401 && authenticator != null) {
      r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, authenticator.challenge());
    }
  }
}
