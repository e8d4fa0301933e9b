package dev.ociproxy.testing;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test after which a Netty buffer was garbage-collected unreleased: after each test it
 * collects garbage and lets Netty's leak detector (paranoid in tests, so every buffer is tracked)
 * report what became unreachable. A buffer still referenced when the test ends is not seen here;
 * tests that own their buffers also assert {@code refCnt()}.
 *
 * <p>Netty reports each distinct leak once per JVM, so a leak already reported by an earlier test
 * class is not reported again.
 */
public final class NoLeakedBuffers
    implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
  private static final List<String> LEAKS = new ArrayList<>();

  @Override
  public void beforeAll(ExtensionContext context) {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    collect(); // what earlier test classes left is theirs, not ours
    detector().setLeakListener(NoLeakedBuffers::leaked);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    collect();
    List<String> found;
    synchronized (LEAKS) {
      found = new ArrayList<>(LEAKS);
      LEAKS.clear();
    }
    if (!found.isEmpty()) {
      throw new AssertionError(
          found.size()
              + " buffer(s) garbage-collected unreleased after this test or the one before it"
              + " (a test's own references go only once it is over); the first:\n"
              + found.get(0));
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    detector().setLeakListener(null);
  }

  private static void leaked(String type, String records) {
    synchronized (LEAKS) {
      LEAKS.add(type + " " + records);
    }
  }

  /** Collects garbage, then tracks a new buffer: the detector reports leaks when it tracks one. */
  private static void collect() {
    for (int i = 0; i < 3; i++) {
      System.gc();
      try {
        Thread.sleep(20); // the reference handler thread enqueues what the collector cleared
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      Unpooled.buffer(1).release();
    }
  }

  /** Netty's detector for every ByteBuf; not public, so read from its field. */
  @SuppressWarnings("unchecked")
  private static ResourceLeakDetector<ByteBuf> detector() {
    try {
      Field f = AbstractByteBuf.class.getDeclaredField("leakDetector");
      f.setAccessible(true);
      return (ResourceLeakDetector<ByteBuf>) f.get(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("Netty's buffer leak detector is not where it was", e);
    }
  }
}
