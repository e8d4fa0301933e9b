package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.airgap.WarmProgress;
import dev.ociproxy.core.airgap.WarmReport;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The warm jobs started through {@code POST /admin/warm}: those running, with their live progress,
 * and the last {@link #KEPT_FINISHED} finished ones with their reports, for the status page.
 * Thread-safe.
 */
public final class WarmJobs {
  /** Finished jobs kept for the page; older ones are in the log. */
  static final int KEPT_FINISHED = 10;

  /** One warm: what it asked for, its live counters, and its outcome once over. */
  public static final class Job {
    private final long id;
    private final List<String> refs;
    private final Instant started = Instant.now();
    private final WarmProgress progress;
    private volatile Instant finished;
    private volatile WarmReport report;
    private volatile String failure;

    private Job(long id, List<String> refs, WarmProgress progress) {
      this.id = id;
      this.refs = List.copyOf(refs);
      this.progress = progress;
    }

    long id() {
      return id;
    }

    List<String> refs() {
      return refs;
    }

    Instant started() {
      return started;
    }

    WarmProgress progress() {
      return progress;
    }

    /** When it ended, or null while it runs. */
    Instant finished() {
      return finished;
    }

    /** Its report once over, or null (still running, or failed as a whole). */
    WarmReport report() {
      return report;
    }

    /** Why it failed as a whole, or null. */
    String failure() {
      return failure;
    }
  }

  private final AtomicLong ids = new AtomicLong();
  private final List<Job> running = new ArrayList<>(); // guarded by this
  private final ArrayDeque<Job> done = new ArrayDeque<>(); // guarded by this, newest first

  /** Records a warm that starts now. */
  public synchronized Job started(List<String> refs, WarmProgress progress) {
    Job j = new Job(ids.incrementAndGet(), refs, progress);
    running.add(j);
    return j;
  }

  /** Records that {@code job} is over: {@code report} when it ran, {@code failure} when it could not. */
  public synchronized void finished(Job job, WarmReport report, Throwable failure) {
    job.report = report;
    job.failure = failure == null ? null : failure.toString();
    job.finished = Instant.now();
    if (running.remove(job)) {
      done.addFirst(job);
      if (done.size() > KEPT_FINISHED) {
        done.removeLast();
      }
    }
  }

  /** The running jobs (oldest first), then the finished ones (newest first). */
  synchronized List<Job> all() {
    List<Job> out = new ArrayList<>(running);
    out.addAll(done);
    return out;
  }
}
