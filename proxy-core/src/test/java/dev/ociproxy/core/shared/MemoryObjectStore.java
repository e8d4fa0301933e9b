package dev.ociproxy.core.shared;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An {@link ObjectStore} in memory, for tests of what the shared tier makes of the bucket's
 * objects: what it writes is visible at once, and a test writes "by hand" with {@link #put}.
 */
final class MemoryObjectStore implements ObjectStore {
  final Map<String, byte[]> objects = new ConcurrentHashMap<>();

  void put(String key, byte[] body) {
    objects.put(key, body.clone());
  }

  byte[] get(String key) {
    byte[] b = objects.get(key);
    if (b == null) {
      throw new AssertionError("no object " + key + " in " + objects.keySet());
    }
    return b.clone();
  }

  @Override
  public long size(String key) {
    byte[] b = objects.get(key);
    return b == null ? -1 : b.length;
  }

  @Override
  public InputStream open(String key) {
    byte[] b = objects.get(key);
    return b == null ? null : new ByteArrayInputStream(b);
  }

  @Override
  public byte[] read(String key, int max) throws IOException {
    byte[] b = objects.get(key);
    if (b != null && b.length > max) {
      throw new IOException(describe(key) + " is larger than " + max + " bytes");
    }
    return b == null ? null : b.clone();
  }

  @Override
  public void write(String key, byte[] body) {
    put(key, body);
  }

  @Override
  public void upload(String key, Path file) throws IOException {
    put(key, Files.readAllBytes(file));
  }

  @Override
  public List<Listed> list(String prefix) {
    List<Listed> out = new ArrayList<>();
    objects.forEach(
        (k, v) -> {
          if (k.startsWith(prefix)) {
            out.add(new Listed(k, v.length, Instant.now()));
          }
        });
    return out;
  }

  @Override
  public void delete(String key) {
    objects.remove(key);
  }

  @Override
  public void check() {}

  @Override
  public String describe(String key) {
    return "mem://bucket/" + key;
  }

  @Override
  public void close() {}
}
