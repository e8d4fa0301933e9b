package dev.ociproxy.core.concurrent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SingleFlightTest {
  final AtomicInteger joins = new AtomicInteger();
  final List<CompletableFuture<String>> started = new ArrayList<>();

  private CompletableFuture<String> start() {
    CompletableFuture<String> f = new CompletableFuture<>();
    started.add(f);
    return f;
  }

  @Test
  void askingWhileAFlightRuns_joinsIt_andEveryJoinIsTold() {
    SingleFlight<String, String> flights = new SingleFlight<>(v -> true, joins::incrementAndGet);

    CompletableFuture<String> first = flights.run("k", this::start);
    CompletableFuture<String> second = flights.run("k", this::start);
    CompletableFuture<String> other = flights.run("other", this::start);
    started.get(0).complete("v");

    assertThat(started).hasSize(2);
    assertThat(second).isSameAs(first).isCompletedWithValue("v");
    assertThat(other).isNotDone();
    assertThat(joins).hasValue(1);
  }

  @Test
  void theKeyIsFreeBeforeTheCallersSeeTheEnd_soTheirNextAskStartsAfresh() {
    SingleFlight<String, String> flights = SingleFlight.create();
    AtomicReference<CompletableFuture<String>> next = new AtomicReference<>();
    flights.run("k", this::start).thenRun(() -> next.set(flights.run("k", this::start)));

    started.get(0).complete("v");

    assertThat(started).hasSize(2);
    assertThat(next.get()).isNotDone();
    assertThat(flights.size()).isEqualTo(1);
  }

  @Test
  void aFailedFlight_failsItsCallersWithTheCause_andIsNeverJoined() {
    SingleFlight<String, String> flights = SingleFlight.create();
    CompletableFuture<String> failed = flights.run("k", this::start);
    started.get(0).completeExceptionally(new IllegalStateException("boom"));

    CompletableFuture<String> again = flights.run("k", this::start);

    assertThat(failed).isCompletedExceptionally();
    assertThat(failed.handle((v, err) -> err).join()).isInstanceOf(IllegalStateException.class);
    assertThat(started).hasSize(2);
    assertThat(again).isNotDone();
  }

  @Test
  void aStartThatThrows_failsTheFlight_andFreesTheKey() {
    SingleFlight<String, String> flights = SingleFlight.create();

    CompletableFuture<String> f =
        flights.run(
            "k",
            () -> {
              throw new IllegalArgumentException("no");
            });

    assertThat(f).isCompletedExceptionally();
    assertThat(flights.running("k")).isNull();
  }

  @Test
  void aFlightRunUntilEnded_outlastsItsFuture_untilItEnds_andAValueNoLongerJoinableStartsAfresh() {
    AtomicBoolean broken = new AtomicBoolean();
    SingleFlight<String, String> flights =
        new SingleFlight<>(v -> !broken.get(), joins::incrementAndGet);
    AtomicReference<Runnable> end = new AtomicReference<>();
    CompletableFuture<String> first =
        flights.runUntilEnded(
            "k",
            e -> {
              end.set(e);
              return start();
            });
    started.get(0).complete("download");

    assertThat(flights.runUntilEnded("k", e -> start())).isSameAs(first);
    broken.set(true);
    CompletableFuture<String> afresh = flights.runUntilEnded("k", e -> start());
    assertThat(afresh).isNotSameAs(first).isNotDone();
    assertThat(started).hasSize(2);
    assertThat(joins).hasValue(1);

    end.get().run(); // the first flight's end does not free the key of the second
    assertThat(flights.running("k")).isSameAs(afresh);
  }
}
