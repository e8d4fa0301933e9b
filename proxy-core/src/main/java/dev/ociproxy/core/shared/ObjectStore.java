package dev.ociproxy.core.shared;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The few operations the shared tier needs of an object store, by key under its prefix. Blocking:
 * callers run them off the event loops. Implemented on S3 by {@link S3ObjectStore}; kept this small
 * so nothing else touches the SDK.
 */
public interface ObjectStore extends AutoCloseable {
  /** One stored object. */
  record Listed(String key, long size, Instant lastModified) {}

  /** The object's size, or -1 when there is none. */
  long size(String key) throws IOException;

  /** The object's bytes as a stream the caller closes, or null when there is none. */
  @Nullable InputStream open(String key) throws IOException;

  /** A small object's bytes, or null when there is none; one over {@code max} bytes is an error. */
  byte @Nullable [] read(String key, int max) throws IOException;

  /** Writes a small object whole. */
  void write(String key, byte[] body) throws IOException;

  /**
   * Uploads a file under {@code key}: a big one in parts, the upload completed only once every part
   * is in and aborted otherwise, so the key never names part of a file.
   */
  void upload(String key, Path file) throws IOException;

  /** Every object whose key starts with {@code prefix}. */
  List<Listed> list(String prefix) throws IOException;

  void delete(String key) throws IOException;

  /** Throws when the store cannot be reached or the bucket is missing. */
  void check() throws IOException;

  /**
   * A URL that lets whoever holds it GET the object, and nothing else, until {@code expiry} has
   * passed; null when this store hands out none ({@code storage.s3.redirect: false}). Computed
   * locally, without a request to the store.
   */
  default @Nullable URI presignedGet(String key, Duration expiry) {
    return null;
  }

  /** Whether this store hands out URLs at all ({@code storage.s3.redirect: true}). */
  default boolean presigns() {
    return false;
  }

  /** The object's name for people: {@code s3://bucket/prefix/key}. */
  String describe(String key);

  @Override
  void close();
}
