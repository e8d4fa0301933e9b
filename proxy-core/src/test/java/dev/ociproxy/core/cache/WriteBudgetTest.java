package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WriteBudgetTest {
  @Test
  void waiterRunsOnceTheTotalIsBackUnderTheLowMarkAndNotBefore() {
    WriteBudget budget = new WriteBudget(100, 40);
    assertThat(budget.add(120)).isTrue();
    AtomicInteger woken = new AtomicInteger();

    budget.whenBelowLow(woken::incrementAndGet);
    budget.release(50); // 70 left: still above the low mark
    assertThat(woken).hasValue(0);
    budget.release(30); // 40: at the low mark
    assertThat(woken).hasValue(1);
    budget.release(40);
    assertThat(woken).as("a waiter runs once").hasValue(1);
  }

  @Test
  void waiterRunsAtOnceWhenTheTotalIsAlreadyUnderTheLowMark() {
    WriteBudget budget = new WriteBudget(100, 40);
    budget.add(10);
    AtomicInteger woken = new AtomicInteger();

    budget.whenBelowLow(woken::incrementAndGet);

    assertThat(woken).hasValue(1);
  }

  @Test
  void addSaysWhenTheHighMarkIsPassed() {
    WriteBudget budget = new WriteBudget(100, 40);

    assertThat(budget.add(100)).isFalse();
    assertThat(budget.add(1)).isTrue();
    assertThat(budget.queued()).isEqualTo(101);
  }

  @Test
  void marksOutOfOrderAreRefused() {
    assertThatThrownBy(() -> new WriteBudget(10, 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("high: 10, low: 20");
  }
}
