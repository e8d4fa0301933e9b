package dev.ociproxy.core.cache;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordLogTest {
  private static final String D = "sha256:" + "ab".repeat(32);

  @TempDir Path dir;

  @Test
  void anAddedRecordIsFoundAfterARestartInItsShardOnly() throws Exception {
    new RecordLog(dir).add("ab", "L library/alpine " + D);

    RecordLog reopened = new RecordLog(dir);
    assertThat(reopened.contains("ab", "L library/alpine " + D)).isTrue();
    assertThat(reopened.contains("cd", "L library/alpine " + D)).isFalse();
    assertThat(Files.exists(dir.resolve("cd"))).as("nothing created by a lookup").isFalse();
  }

  @Test
  void onlyAWholeLineMatches() throws Exception {
    RecordLog log = new RecordLog(dir);
    log.add("ab", "L library/alpine " + D);
    log.add("ab", "S " + D);

    assertThat(log.contains("ab", "L library/alpine")).isFalse();
    assertThat(log.contains("ab", "library/alpine " + D)).isFalse();
    assertThat(log.contains("ab", "L library/alpine " + D + "x")).isFalse();
    assertThat(log.contains("ab", "S " + D)).isTrue();
  }

  @Test
  void aLineCutShortByACrashJoinedToTheNextRecordMatchesNoRecord() throws Exception {
    RecordLog log = new RecordLog(dir);
    log.add("ab", "S " + D);
    // A crash in the middle of appending "L library/alpine <digest>".
    Files.write(dir.resolve("ab"), "L libr".getBytes(ISO_8859_1), StandardOpenOption.APPEND);
    log.add("ab", "L library/bar " + D);

    assertThat(log.contains("ab", "S " + D)).as("the record before the cut").isTrue();
    assertThat(log.contains("ab", "L libr")).isFalse();
    assertThat(log.contains("ab", "L librlibrary/bar " + D)).isFalse();
    assertThat(log.contains("ab", "L library/bar " + D)).as("lost with the cut line").isFalse();
    log.add("ab", "L library/bar " + D);
    assertThat(log.contains("ab", "L library/bar " + D)).isTrue();
  }

  @Test
  void aWholeRecordWhoseLineBreakWasCutIsStillFound() throws Exception {
    Files.write(dir.resolve("ab"), ("S " + D).getBytes(ISO_8859_1));

    assertThat(new RecordLog(dir).contains("ab", "S " + D)).isTrue();
  }

  @Test
  void recordsAppendedAtOnceByManyThreadsAreAllWholeLines() throws Exception {
    RecordLog log = new RecordLog(dir);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int thread = t;
      done.add(
          pool.submit(
              () -> {
                for (int i = 0; i < 300; i++) {
                  log.add("ab", "L t" + thread + "/r" + i + " " + D);
                }
                return null;
              }));
    }
    for (Future<?> f : done) {
      f.get();
    }
    pool.shutdown();

    List<String> lines = Files.readAllLines(dir.resolve("ab"), ISO_8859_1);
    assertThat(lines).hasSize(8 * 300).allMatch(l -> l.matches("L t\\d/r\\d+ " + D));
    assertThat(log.contains("ab", "L t7/r299 " + D)).isTrue();
  }
}
