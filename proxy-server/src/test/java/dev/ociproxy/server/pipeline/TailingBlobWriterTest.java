package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One client following a download, on an embedded channel, with the disk writes run by hand. */
class TailingBlobWriterTest {
  private static final byte[] BLOB = bytes(5 * (1 << 20) + 333);
  private static final Digest DIGEST = Digest.sha256(BLOB);

  @TempDir Path root;
  private ContentStore store;
  private final ManualWriter disk = new ManualWriter();

  /** What the client was sent, in order: "head", "memory", "file", "end". */
  private final List<String> kinds = new ArrayList<>();

  private final ByteArrayOutputStream body = new ByteArrayOutputStream();
  private final EmbeddedChannel client = new EmbeddedChannel(new Recorder());

  @BeforeEach
  void openStore() {
    store = new ContentStore(root).open();
  }

  @AfterEach
  void closeClient() {
    client.finishAndReleaseAll();
  }

  @Test
  void clientIsSentReceivedBytesBeforeAnyReachTheDiskButNotTheLastBeforeVerification()
      throws Exception {
    BlobDownload d = download();
    CompletableFuture<TailingBlobWriter.Outcome> outcome = follow(d);

    feed(d, BLOB);
    d.onComplete(); // verified, but not yet on disk
    drain();

    assertThat(d.written()).isZero();
    assertThat(body.size()).as("all but the held-back last byte").isEqualTo(BLOB.length - 1);
    assertThat(kinds).containsOnly("head", "memory").doesNotContain("end");
    assertThat(outcome).isNotDone();

    disk.runAll(); // written and published: the last byte and the end go out
    drain();

    assertThat(body.toByteArray()).isEqualTo(BLOB);
    assertThat(kinds).endsWith("end");
    assertThat(outcome).isCompletedWithValue(TailingBlobWriter.Outcome.COMPLETE);
  }

  @Test
  void clientJoiningAfterTheBuffersWereLetGoReadsThemFromTheFile() throws Exception {
    BlobDownload d = download();
    feed(d, Arrays.copyOf(BLOB, BLOB.length - 1000));
    disk.runAll(); // on disk: the oldest buffers are no longer held

    CompletableFuture<TailingBlobWriter.Outcome> outcome = follow(d);
    feed(d, Arrays.copyOfRange(BLOB, BLOB.length - 1000, BLOB.length));
    d.onComplete();
    disk.runAll();
    drain();

    assertThat(body.toByteArray()).isEqualTo(BLOB);
    assertThat(kinds.get(1)).as("the start, from the file").isEqualTo("file");
    assertThat(kinds).contains("memory");
    assertThat(outcome).isCompletedWithValue(TailingBlobWriter.Outcome.COMPLETE);
  }

  @Test
  void refusedDownloadCutsTheClientItWasFeedingFromMemory() throws Exception {
    BlobDownload d = download();
    CompletableFuture<TailingBlobWriter.Outcome> outcome = follow(d);
    byte[] tampered = BLOB.clone();
    tampered[tampered.length - 1] ^= 0x01;

    feed(d, tampered);
    drain();
    assertThat(body.size()).isEqualTo(BLOB.length - 1);
    d.onComplete(); // the last byte's hash does not match

    assertThat(outcome).isCompletedWithValue(TailingBlobWriter.Outcome.ABORTED);
    assertThat(client.isOpen()).as("closed, so the client sees a broken transfer").isFalse();
    drain();
    assertThat(kinds).doesNotContain("end");
    disk.runAll();
    assertThat(store.blobSize(DIGEST)).isEqualTo(-1);
  }

  private BlobDownload download() throws IOException {
    return new BlobDownload(DIGEST, store, BLOB.length, x -> {}, disk);
  }

  private CompletableFuture<TailingBlobWriter.Outcome> follow(BlobDownload d) throws IOException {
    return new TailingBlobWriter(client, d, BlobResponses.streamingHead(DIGEST, BLOB.length))
        .start();
  }

  /** Everything is recorded as it is written (the writer closes its file when it ends). */
  private void drain() {
    assertThat((Object) client.readOutbound()).as("the recorder took every write").isNull();
  }

  /** Records what the client is sent, as it is written, and completes the write. */
  private final class Recorder extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object m, ChannelPromise promise)
        throws IOException {
      try {
        if (m instanceof HttpResponse) {
          kinds.add("head");
        } else if (m instanceof FileRegion r) {
          kinds.add("file");
          var out = Channels.newChannel(body);
          while (r.transferred() < r.count()) {
            r.transferTo(out, r.transferred());
          }
        } else if (m instanceof HttpContent c) {
          if (c.content().isReadable()) {
            kinds.add("memory");
            c.content().getBytes(c.content().readerIndex(), body, c.content().readableBytes());
          }
          if (m instanceof LastHttpContent) {
            kinds.add("end");
          }
        }
      } finally {
        ReferenceCountUtil.release(m);
      }
      promise.setSuccess();
    }
  }

  private static void feed(BlobDownload d, byte[] bytes) {
    int piece = 64 * 1024 + 7;
    for (int off = 0; off < bytes.length; off += piece) {
      ByteBuf chunk =
          Unpooled.directBuffer(piece).writeBytes(bytes, off, Math.min(piece, bytes.length - off));
      try {
        d.onChunk(chunk);
      } finally {
        chunk.release();
      }
    }
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(11).nextBytes(b);
    return b;
  }

  /** Runs the disk writes when the test says so, on the test thread. */
  private static final class ManualWriter implements Executor {
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();

    @Override
    public void execute(Runnable r) {
      queue.add(r);
    }

    void runAll() {
      Runnable r;
      while ((r = queue.poll()) != null) {
        r.run();
      }
    }
  }
}
