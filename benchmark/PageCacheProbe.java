import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Measures what writing a 256 MiB blob costs through the page cache (as the proxy writes its
 * cache files: 128 KiB pwrites from a direct buffer) and with O_DIRECT (through a 4 MiB aligned
 * staging buffer), round after round, keeping every file so the page cache keeps growing as a
 * mirror's does. On this project's VMs the buffered write's CPU jumps about tenfold once roughly
 * 1.5 GiB of new page cache has been written; O_DIRECT's does not. Not a test.
 *
 * <pre>java benchmark/PageCacheProbe.java [ROUNDS] [DIR]     (defaults: 10, /var/tmp)</pre>
 */
public class PageCacheProbe {
  private static final long BLOB = 256L << 20;

  public static void main(String[] args) throws IOException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Path dir = Files.createTempDirectory(Path.of(args.length > 1 ? args[1] : "/var/tmp"), "page-cache-probe-");
    ByteBuffer received = ByteBuffer.allocateDirect(1 << 20); // stands in for a received chunk
    ByteBuffer staging = ByteBuffer.allocateDirect((4 << 20) + 4096).alignedSlice(4096);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    List<Path> files = new ArrayList<>();
    try {
      for (int r = 0; r < rounds; r++) {
        for (boolean direct : new boolean[] {false, true}) {
          Path p = dir.resolve((direct ? "direct-" : "buffered-") + r);
          files.add(p);
          long cpu = threads.getCurrentThreadCpuTime();
          long wall = System.nanoTime();
          if (direct) {
            writeDirect(p, received, staging);
          } else {
            writeBuffered(p, received);
          }
          System.out.printf("round %2d %-8s wall %5.0f ms  cpu %5.0f ms%n", r, direct ? "O_DIRECT" : "buffered",
              (System.nanoTime() - wall) / 1e6, (threads.getCurrentThreadCpuTime() - cpu) / 1e6);
        }
      }
    } finally {
      for (Path p : files) {
        Files.deleteIfExists(p);
      }
      Files.deleteIfExists(dir);
    }
  }

  private static void writeBuffered(Path p, ByteBuffer received) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long pos = 0;
      while (pos < BLOB) {
        received.clear();
        while (received.hasRemaining()) {
          int end = received.limit();
          received.limit(Math.min(end, received.position() + (128 << 10)));
          pos += ch.write(received, pos);
          received.limit(end);
        }
      }
    }
  }

  private static void writeDirect(Path p, ByteBuffer received, ByteBuffer staging) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        ExtendedOpenOption.DIRECT)) {
      long pos = 0;
      while (pos < BLOB) {
        staging.clear();
        while (staging.hasRemaining()) {
          received.clear();
          staging.put(received);
        }
        staging.flip();
        while (staging.hasRemaining()) {
          pos += ch.write(staging, pos);
        }
      }
    }
  }
}
