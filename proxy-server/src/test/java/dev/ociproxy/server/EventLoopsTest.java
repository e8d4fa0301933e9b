package dev.ociproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EventLoopsTest {
  @Test
  void oneCoreIsLeftToTheWritersWhereThereIsMoreThanOne() {
    assertThat(ProxyServer.eventLoops(1)).isEqualTo(1);
    assertThat(ProxyServer.eventLoops(2)).isEqualTo(1);
    assertThat(ProxyServer.eventLoops(16)).isEqualTo(15);
  }
}
