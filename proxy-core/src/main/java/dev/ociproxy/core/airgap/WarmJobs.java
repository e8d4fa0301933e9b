package dev.ociproxy.core.airgap;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The warm jobs of this process, from {@code POST /admin/warm} and from the configured warm list:
 * those running, with their live progress, and the last {@link #KEPT_FINISHED} finished ones with
 * their reports, for the operator's status page. Thread-safe.
 */
public final class WarmJobs {
  /** Finished jobs kept for the page; older ones are in the log. */
  static final int KEPT_FINISHED = 10;

  /** One warm: who started it, what it asked for, its live counters, and its outcome once over. */
  public static final class Job {
    private final long id;
    private final String origin;
    private final List<String> refs;
    private final Instant started = Instant.now();
    private final WarmProgress progress;
    private volatile @Nullable Instant finished;
    private volatile @Nullable WarmReport report;
    private volatile @Nullable String failure;

    private Job(long id, String origin, List<String> refs, WarmProgress progress) {
      this.id = id;
      this.origin = origin;
      this.refs = List.copyOf(refs);
      this.progress = progress;
    }

    public long id() {
      return id;
    }

    /** What started it: {@code POST /admin/warm} or the configured warm list. */
    public String origin() {
      return origin;
    }

    public List<String> refs() {
      return refs;
    }

    public Instant started() {
      return started;
    }

    public WarmProgress progress() {
      return progress;
    }

    /** When it ended, or null while it runs. */
    public @Nullable Instant finished() {
      return finished;
    }

    /** Its report once over, or null (still running, or failed as a whole). */
    public @Nullable WarmReport report() {
      return report;
    }

    /** Why it failed as a whole, or null. */
    public @Nullable String failure() {
      return failure;
    }
  }

  private final AtomicLong ids = new AtomicLong();
  private final List<Job> running = new ArrayList<>(); // guarded by this
  private final ArrayDeque<Job> done = new ArrayDeque<>(); // guarded by this, newest first

  /** Records a warm that starts now; {@code origin} says what started it. */
  public synchronized Job started(String origin, List<String> refs, WarmProgress progress) {
    Job j = new Job(ids.incrementAndGet(), origin, refs, progress);
    running.add(j);
    return j;
  }

  /**
   * Records that {@code job} is over: {@code report} when it ran, {@code failure} when it could
   * not.
   */
  public synchronized void finished(
      Job job, @Nullable WarmReport report, @Nullable Throwable failure) {
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
  public synchronized List<Job> all() {
    List<Job> out = new ArrayList<>(running);
    out.addAll(done);
    return out;
  }
}
