package dev.ociproxy.testing;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A loopback HTTP/1.1 listener with one pooled thread per connection that reads request heads and
 * hands each to a {@link Handler} until the handler or the peer ends the connection.
 *
 * <p>It can be stopped and listen again on the same port, to simulate an upstream outage.
 */
final class LoopbackServer {
  private static final AtomicInteger THREADS = new AtomicInteger();

  /** Answers one request; returns whether the connection may carry another. */
  interface Handler {
    boolean exchange(RecordedRequest req, OutputStream out) throws IOException;
  }

  private final Handler handler;
  private final Consumer<RecordedRequest> recorder;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger connections = new AtomicInteger();
  private final ExecutorService pool =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "hostile-registry-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
          });
  private final Object lifecycle = new Object();
  private volatile ServerSocket server;
  private volatile Future<?> acceptor;
  private volatile int port;

  LoopbackServer(Handler handler, Consumer<RecordedRequest> recorder) {
    this.handler = handler;
    this.recorder = recorder;
  }

  int port() {
    return port;
  }

  boolean running() {
    return server != null;
  }

  int connectionCount() {
    return connections.get();
  }

  /** Listens on {@code 127.0.0.1:wanted} (0 for a free port) unless already listening. */
  void listen(int wanted) {
    synchronized (lifecycle) {
      if (server != null) {
        return;
      }
      try {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), wanted), 128);
        port = s.getLocalPort();
        server = s;
        acceptor = pool.submit(() -> acceptLoop(s));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot listen on 127.0.0.1:" + wanted, e);
      }
    }
  }

  /** Stops listening and closes every open connection; returns once connects are refused. */
  void stop() {
    synchronized (lifecycle) {
      ServerSocket s = server;
      server = null;
      closeQuietly(s);
      awaitAcceptor();
      for (Socket socket : sockets) {
        closeQuietly(socket);
      }
    }
  }

  void close() {
    stop();
    pool.shutdownNow();
    try {
      pool.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Waits for the accept thread to leave {@code accept()}: until it does, the kernel keeps the
   * listening socket alive and would still complete new connections.
   */
  private void awaitAcceptor() {
    Future<?> f = acceptor;
    if (f == null) {
      return;
    }
    try {
      f.get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("accept thread did not stop", e);
    }
  }

  private void acceptLoop(ServerSocket s) {
    while (!s.isClosed()) {
      Socket socket;
      try {
        socket = s.accept();
      } catch (IOException e) {
        return; // closed by stop()
      }
      sockets.add(socket);
      if (server != s) { // stop() ran between accept and add
        sockets.remove(socket);
        closeQuietly(socket);
        return;
      }
      int id = connections.incrementAndGet();
      pool.execute(() -> serve(socket, id));
    }
  }

  private void serve(Socket socket, int connectionId) {
    try {
      socket.setTcpNoDelay(true);
      // A small send buffer keeps bodyBytesWritten close to what the peer really consumed.
      socket.setSendBufferSize(64 * 1024);
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      while (true) {
        RecordedRequest req = HttpWire.readRequest(in, connectionId);
        if (req == null) {
          return;
        }
        recorder.accept(req);
        boolean keepOpen;
        try {
          keepOpen = handler.exchange(req, out);
        } finally {
          req.done();
        }
        if (!keepOpen) {
          return;
        }
      }
    } catch (SocketException | EOFException e) {
      // The peer went away or stop() closed the socket: an ordinary end for a hostile server.
    } catch (IOException | RuntimeException e) {
      if (!socket.isClosed()) {
        System.err.println("HostileRegistry: connection " + connectionId + " failed: " + e);
      }
    } finally {
      sockets.remove(socket);
      try {
        socket.shutdownOutput(); // FIN first, so unread input does not turn the close into a RST
      } catch (IOException ignored) {
        // already closed
      }
      closeQuietly(socket);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception ignored) {
      // closing is best effort
    }
  }
}
