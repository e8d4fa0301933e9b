package dev.ociproxy.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A slow network link to a server: a loopback TCP relay that passes requests on at once and answers
 * at a capped rate, so a transfer through it is still running when a test acts (kills a process
 * mid-body), however loaded the machine. Closing either side closes the other.
 */
final class SlowLink implements AutoCloseable {
  private static final int CHUNK = 16 * 1024;

  private final ServerSocket server;
  private final int targetPort;
  private final long bytesPerSecond;
  private final AtomicLong answered = new AtomicLong();
  private final ExecutorService threads =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "slow-link");
            t.setDaemon(true);
            return t;
          });

  /** Relays to {@code 127.0.0.1:targetPort}, answering at most {@code bytesPerSecond}. */
  SlowLink(int targetPort, long bytesPerSecond) throws IOException {
    this.targetPort = targetPort;
    this.bytesPerSecond = bytesPerSecond;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    threads.execute(this::accept);
  }

  String url() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  /** Bytes of answers passed on so far (headers included). */
  long answered() {
    return answered.get();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        threads.execute(() -> pipe(client, target, false));
        threads.execute(() -> pipe(target, client, true));
      } catch (IOException e) {
        // closed, or the target refused: the client sees its connection closed
      }
    }
  }

  private void pipe(Socket from, Socket to, boolean answers) {
    byte[] buf = new byte[CHUNK];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
        out.flush();
        if (answers) {
          answered.addAndGet(n);
          Thread.sleep(n * 1000L / bytesPerSecond);
        }
      }
    } catch (IOException | InterruptedException e) {
      // one side went away: close both below
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    threads.shutdownNow();
  }
}
