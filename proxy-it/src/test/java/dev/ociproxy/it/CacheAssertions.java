package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/** Assertions about what reached a client and what the proxy's cache directory holds. */
final class CacheAssertions {
  private CacheAssertions() {}

  /** A client must never see a complete 200 for content that was a lie. */
  static void assertNoWholeSuccess(RawHttpClient.Response r) {
    assertThat(r.status() == 200 && r.complete())
        .as(
            "whole successful response (status %d, complete %s, %d bytes)",
            r.status(), r.complete(), r.body().length)
        .isFalse();
  }

  /** No file in blobs/ or manifests/ carries this digest's name, and tmp/ holds no leftovers. */
  static void assertNotCached(Path cache, String digest) {
    String hex = digest.substring(digest.indexOf(':') + 1);
    awaitEmptyTmp(cache);
    assertThat(files(cache.resolve("blobs")))
        .noneMatch(p -> p.getFileName().toString().equals(hex));
    assertThat(files(cache.resolve("manifests")))
        .noneMatch(p -> p.getFileName().toString().equals(hex));
  }

  /** No cached file at all has exactly these bytes. */
  static void assertNoFileWithContent(Path cache, byte[] content) {
    String want = sha256(content);
    for (Path p : files(cache)) {
      try {
        assertThat(sha256(Files.readAllBytes(p))).as("cached file %s", p).isNotEqualTo(want);
      } catch (java.nio.file.NoSuchFileException gone) {
        // A temporary file renamed or deleted since the listing (the tag index writes
        // <tag>.<n>.tmp and moves it into place): no longer there, so it holds nothing.
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  static void assertCached(Path cache, String kind, String digest) {
    String alg = digest.substring(0, digest.indexOf(':'));
    String hex = digest.substring(digest.indexOf(':') + 1);
    assertThat(cache.resolve(kind).resolve(alg).resolve(hex.substring(0, 2)).resolve(hex))
        .isRegularFile();
  }

  /** The temp dir is cleaned up asynchronously after an abort; allow it a few seconds. */
  static void awaitEmptyTmp(Path cache) {
    await("an empty tmp/")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .untilAsserted(
            () -> assertThat(files(cache.resolve("tmp"))).as("leftover temporary files").isEmpty());
  }

  static List<Path> files(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String sha256(byte[] b) {
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
