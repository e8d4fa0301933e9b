package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class UpstreamThrottleTest {
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  private double queued() {
    return meters
        .get("registry_proxy_upstream_queued_requests")
        .tag("upstream", "up")
        .gauge()
        .value();
  }

  @Test
  void beyondTheConcurrencyCapRequestsWaitInOrderAndAFailedOneGivesItsPlaceOn() throws Exception {
    UpstreamThrottle throttle = new UpstreamThrottle("up", new RequestLimits(2, 0), meters);
    List<CompletableFuture<UpstreamResponse>> sent = new CopyOnWriteArrayList<>();
    List<Integer> order = new CopyOnWriteArrayList<>();
    List<CompletableFuture<UpstreamResponse>> results = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      int n = i;
      results.add(
          throttle.run(
              () -> {
                order.add(n);
                CompletableFuture<UpstreamResponse> f = new CompletableFuture<>();
                sent.add(f);
                return f;
              }));
    }

    assertThat(order).containsExactly(0, 1);
    assertThat(queued()).isEqualTo(3);
    sent.get(0).completeExceptionally(new UpstreamUnavailableException("refused", null));
    assertThat(order).containsExactly(0, 1, 2);
    sent.get(1).completeExceptionally(new UpstreamUnavailableException("refused", null));
    sent.get(2).completeExceptionally(new UpstreamUnavailableException("refused", null));

    assertThat(order).containsExactly(0, 1, 2, 3, 4);
    assertThat(queued()).isZero();
    assertThat(results.get(0)).isCompletedExceptionally();
  }

  @Test
  void requestsPerSecondSpacesTheStarts() throws Exception {
    UpstreamThrottle throttle = new UpstreamThrottle("up", new RequestLimits(0, 20), meters);
    List<Long> starts = new CopyOnWriteArrayList<>();
    List<CompletableFuture<UpstreamResponse>> results = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      results.add(
          throttle.run(
              () -> {
                starts.add(System.nanoTime());
                return CompletableFuture.failedFuture(
                    new UpstreamUnavailableException("refused", null));
              }));
    }
    assertThat(queued()).isGreaterThan(0);
    for (var r : results) {
      r.handle((v, e) -> null).get(5, TimeUnit.SECONDS);
    }

    assertThat(starts).hasSize(5);
    long spanMillis = TimeUnit.NANOSECONDS.toMillis(starts.get(4) - starts.get(0));
    assertThat(spanMillis)
        .as("five starts at 20/s take at least 4 x 50 ms")
        .isGreaterThanOrEqualTo(190);
    assertThat(queued()).isZero();
  }
}
