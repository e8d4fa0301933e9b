package dev.ociproxy.it.support;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A TCP relay on loopback in front of an HTTP server that keeps the head (request line and headers)
 * of every request it passes on, and changes no byte: for a test that must see what clients sent a
 * server it does not control, such as which headers came along on a redirect. A request body is
 * framed by its {@code Content-Length}; after a chunked one the rest of that connection is passed
 * on unrecorded.
 */
public final class RecordingRelay implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final List<String> heads = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final ExecutorService threads =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "recording-relay");
            t.setDaemon(true);
            return t;
          });

  private RecordingRelay(ServerSocket server, int targetPort) {
    this.server = server;
    this.targetPort = targetPort;
  }

  /** Relays a new loopback port to {@code targetPort} on loopback. */
  public static RecordingRelay start(int targetPort) throws IOException {
    RecordingRelay r =
        new RecordingRelay(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), targetPort);
    r.threads.execute(r::accept);
    return r;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Every request head passed on so far, in ISO-8859-1, each ending with its blank line. */
  public List<String> requestHeads() {
    return List.copyOf(heads);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        sockets.add(client);
        sockets.add(target);
        threads.execute(() -> pass(target, client));
        threads.execute(() -> requests(client, target));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  /** The server's answers, as they are. */
  private static void pass(Socket from, Socket to) {
    try (from;
        to) {
      from.getInputStream().transferTo(to.getOutputStream());
    } catch (IOException e) {
      // one side closed: so is the other now
    }
  }

  /** The client's requests, each head recorded before it is passed on. */
  private void requests(Socket client, Socket target) {
    try (client;
        target) {
      InputStream in = new BufferedInputStream(client.getInputStream());
      OutputStream out = target.getOutputStream();
      while (true) {
        byte[] head = head(in);
        out.write(head);
        out.flush();
        String text = new String(head, StandardCharsets.ISO_8859_1);
        if (!text.endsWith("\r\n\r\n")) {
          return; // the client closed
        }
        heads.add(text);
        String lower = text.toLowerCase(Locale.ROOT);
        if (lower.contains("\r\ntransfer-encoding:")) {
          in.transferTo(out);
          return;
        }
        long left = contentLength(lower);
        byte[] buf = new byte[64 << 10];
        while (left > 0) {
          int n = in.read(buf, 0, (int) Math.min(buf.length, left));
          if (n < 0) {
            return;
          }
          out.write(buf, 0, n);
          left -= n;
        }
        out.flush();
      }
    } catch (IOException e) {
      // one side closed
    }
  }

  /** Bytes up to and including the first blank line, or all that came before the end. */
  private static byte[] head(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    String end = "\r\n\r\n";
    int matched = 0;
    while (matched < end.length()) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.write(b);
      matched = b == end.charAt(matched) ? matched + 1 : b == '\r' ? 1 : 0;
    }
    return head.toByteArray();
  }

  private static long contentLength(String lowerHead) {
    int i = lowerHead.indexOf("\r\ncontent-length:");
    if (i < 0) {
      return 0;
    }
    int start = i + "\r\ncontent-length:".length();
    return Long.parseLong(lowerHead.substring(start, lowerHead.indexOf('\r', start)).trim());
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    threads.shutdownNow();
  }
}
