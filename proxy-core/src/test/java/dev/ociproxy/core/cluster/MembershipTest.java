package dev.ociproxy.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Membership: the listed or resolved replicas that answer, re-read on every refresh. */
class MembershipTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef";
  private static final String SELF = "10.0.0.1:5000";
  private final Set<String> up = ConcurrentHashMap.newKeySet();
  private final Membership.Probe probe = m -> CompletableFuture.completedFuture(up.contains(m));

  private Membership staticList(String... peers) {
    return new Membership(
        new ClusterOptions(List.of(peers), null, SELF, SECRET),
        h -> List.of(),
        probe,
        Duration.ofMillis(500));
  }

  @Test
  void beforeItsFirstRefreshAReplicaOwnsEverything() {
    Membership m = staticList(SELF, "10.0.0.2:5000");
    assertThat(m.ownerOf("sha256:ab")).isEqualTo(SELF);
  }

  @Test
  void everyReplicaPicksTheSameOwnerForATagAndOneLeavingMovesOnlyTheTagsItOwned() {
    List<String> three = List.of(SELF, "10.0.0.2:5000", "10.0.0.3:5000");
    up.addAll(three);
    List<Membership> replicas = new ArrayList<>();
    for (String me : three) {
      Membership m =
          new Membership(
              new ClusterOptions(three, null, me, SECRET),
              h -> List.of(),
              probe,
              Duration.ofMillis(500));
      m.refresh();
      replicas.add(m);
    }
    Map<String, String> owners = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      // The same tag of another repository, and of another upstream, is another key.
      for (String key :
          List.of(
              Rendezvous.tagKey("docker.io", "library/app" + i, "latest"),
              Rendezvous.tagKey("ghcr.io", "library/app" + i, "latest"))) {
        String owner = replicas.get(0).ownerOf(key);
        assertThat(replicas).allSatisfy(m -> assertThat(m.ownerOf(key)).isEqualTo(owner));
        owners.put(key, owner);
      }
    }
    assertThat(owners.values()).containsAll(three);

    up.remove("10.0.0.3:5000");
    replicas.get(0).refresh();
    owners.forEach(
        (key, owner) -> {
          if (!owner.equals("10.0.0.3:5000")) {
            assertThat(replicas.get(0).ownerOf(key)).as(key).isEqualTo(owner);
          } else {
            assertThat(replicas.get(0).ownerOf(key)).as(key).isNotEqualTo(owner);
          }
        });
  }

  @Test
  void aTagsKeyIsNeverADigestsKey() {
    String key = Rendezvous.tagKey("up.test", "team/app", "latest");
    assertThat(key).isEqualTo("tag up.test/team/app:latest");
    assertThat(key).doesNotContain("sha256:").startsWith("tag ");
  }

  @Test
  void onlyMembersThatAnswerAreHealthyAndThisReplicaAlwaysIs() {
    Membership m = staticList("10.0.0.2:5000", "10.0.0.3:5000");
    up.add("10.0.0.2:5000");
    m.refresh();
    assertThat(m.snapshot().known()).containsExactly(SELF, "10.0.0.2:5000", "10.0.0.3:5000");
    assertThat(m.snapshot().healthy()).containsExactly(SELF, "10.0.0.2:5000");
  }

  @Test
  void aReplicaThatStartsAnsweringJoinsAndOneThatStopsLeavesAtTheNextRefresh() {
    Membership m = staticList(SELF, "10.0.0.2:5000", "10.0.0.3:5000");
    up.add("10.0.0.2:5000");
    m.refresh();
    up.add("10.0.0.3:5000");
    m.refresh();
    assertThat(m.snapshot().healthy()).containsExactly(SELF, "10.0.0.2:5000", "10.0.0.3:5000");
    up.remove("10.0.0.2:5000");
    m.refresh();
    assertThat(m.snapshot().healthy()).containsExactly(SELF, "10.0.0.3:5000");
  }

  @Test
  void aProbeThatNeverAnswersCountsAsDownAfterTheTimeout() {
    Membership m =
        new Membership(
            new ClusterOptions(List.of("10.0.0.9:5000"), null, SELF, SECRET),
            h -> List.of(),
            member -> new CompletableFuture<>(),
            Duration.ofMillis(100));
    m.refresh();
    assertThat(m.snapshot().healthy()).containsExactly(SELF);
  }

  @Test
  void theDnsNameIsResolvedAgainOnEveryRefreshSoNewReplicasJoin() {
    AtomicReference<List<String>> answer = new AtomicReference<>(List.of(SELF, "10.0.0.2:5000"));
    Membership m =
        new Membership(
            new ClusterOptions(List.of(), "peers.ns.svc:5000", SELF, SECRET),
            h -> {
              assertThat(h).isEqualTo("peers.ns.svc:5000");
              return answer.get();
            },
            probe,
            Duration.ofMillis(500));
    up.add("10.0.0.2:5000");
    up.add("10.0.0.3:5000");
    m.refresh();
    assertThat(m.snapshot().healthy()).containsExactly(SELF, "10.0.0.2:5000");
    answer.set(List.of(SELF, "10.0.0.2:5000", "10.0.0.3:5000"));
    m.refresh();
    assertThat(m.snapshot().healthy()).containsExactly(SELF, "10.0.0.2:5000", "10.0.0.3:5000");
    answer.set(List.of(SELF, "10.0.0.3:5000"));
    m.refresh();
    assertThat(m.snapshot().known()).containsExactly(SELF, "10.0.0.3:5000");
  }

  @Test
  void aDnsFailureKeepsTheMembersKnownBefore() {
    AtomicReference<Boolean> fail = new AtomicReference<>(false);
    Membership m =
        new Membership(
            new ClusterOptions(List.of(), "peers.ns.svc:5000", SELF, SECRET),
            h -> {
              if (fail.get()) {
                throw new IOException("SERVFAIL");
              }
              return List.of("10.0.0.2:5000");
            },
            probe,
            Duration.ofMillis(500));
    up.add("10.0.0.2:5000");
    m.refresh();
    fail.set(true);
    m.refresh();
    assertThat(m.snapshot().healthy()).containsExactly(SELF, "10.0.0.2:5000");
  }

  @Test
  void ownersAreChosenAmongHealthyMembersOnly() {
    Membership m = staticList("10.0.0.2:5000", "10.0.0.3:5000");
    up.add("10.0.0.3:5000");
    m.refresh();
    for (int i = 0; i < 200; i++) {
      assertThat(m.ownerOf("sha256:" + i)).isIn(SELF, "10.0.0.3:5000");
    }
  }

  @Test
  void theResolverTurnsANameIntoEveryAddressWithThePort() throws IOException {
    assertThat(Membership.resolveWithDns("127.0.0.1:5000")).containsExactly("127.0.0.1:5000");
  }
}
