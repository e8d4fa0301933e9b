package dev.ociproxy.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Rendezvous hashing: every replica agrees, and resizing moves only the changed member's keys. */
class RendezvousTest {
  private static final List<String> FIVE =
      List.of("10.0.0.1:5000", "10.0.0.2:5000", "10.0.0.3:5000", "10.0.0.4:5000", "10.0.0.5:5000");

  private static List<String> digests(int n) {
    Random r = new Random(42);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      StringBuilder hex = new StringBuilder("sha256:");
      for (int j = 0; j < 64; j++) {
        hex.append(Character.forDigit(r.nextInt(16), 16));
      }
      keys.add(hex.toString());
    }
    return keys;
  }

  private static Map<String, String> owners(List<String> keys, List<String> members) {
    Map<String, String> owners = new HashMap<>();
    keys.forEach(k -> owners.put(k, Rendezvous.owner(k, members)));
    return owners;
  }

  @Test
  void everyReplicaPicksTheSameOwnerWhateverOrderItListsTheMembersIn() {
    List<String> shuffled = new ArrayList<>(FIVE);
    Collections.shuffle(shuffled, new Random(7));
    List<String> keys = digests(2_000);
    assertThat(owners(keys, shuffled)).isEqualTo(owners(keys, FIVE));
  }

  @Test
  void aReplicaLeavingMovesOnlyTheKeysItOwnedAndSpreadsThemOverTheOthers() {
    List<String> keys = digests(10_000);
    Map<String, String> before = owners(keys, FIVE);
    String gone = FIVE.get(2);
    List<String> four = new ArrayList<>(FIVE);
    four.remove(gone);
    Map<String, String> after = owners(keys, four);
    Map<String, Integer> inherited = new HashMap<>();
    for (String k : keys) {
      if (before.get(k).equals(gone)) {
        inherited.merge(after.get(k), 1, Integer::sum);
      } else {
        assertThat(after.get(k)).as("owner of %s", k).isEqualTo(before.get(k));
      }
    }
    assertThat(inherited).containsOnlyKeys(four);
  }

  @Test
  void aReplicaJoiningTakesOnlyKeysItNowOwnsAboutItsShare() {
    List<String> keys = digests(10_000);
    Map<String, String> before = owners(keys, FIVE);
    String joined = "10.0.0.6:5000";
    List<String> six = new ArrayList<>(FIVE);
    six.add(joined);
    Map<String, String> after = owners(keys, six);
    int moved = 0;
    for (String k : keys) {
      if (!after.get(k).equals(before.get(k))) {
        assertThat(after.get(k)).isEqualTo(joined);
        moved++;
      }
    }
    // One sixth is 1,667; the hash is uniform, so this is many standard deviations wide.
    assertThat(moved).isBetween(1_400, 1_950);
  }

  @Test
  void noMembersMeansNoOwner() {
    assertThat(Rendezvous.owner("sha256:00", List.of())).isNull();
  }
}
