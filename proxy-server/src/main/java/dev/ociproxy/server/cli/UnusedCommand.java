package dev.ociproxy.server.cli;

import dev.ociproxy.core.shared.Retention;
import dev.ociproxy.core.shared.S3Options;
import dev.ociproxy.core.shared.SharedStore;
import java.io.IOException;
import java.io.PrintStream;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code unused --since T [--remove]}: the blobs of the shared store ({@code storage.s3}) not used
 * since T, listed, or removed with {@code --remove} (see {@link Retention}).
 */
final class UnusedCommand {
  static final String USAGE =
      """
      usage: java -jar registry-proxy.jar unused --config FILE --since TIME [--remove]
        Lists the blobs of the shared store (storage.s3) that no replica has handed out since TIME
        (2026-11-01, 2026-11-01T12:00:00Z, or an age: 30d, 12h), one per line with its size and
        last use (exact to within a day), then a total. --remove deletes them; a replica that
        needs one again fetches it from its upstream.""";

  private static final Pattern AGE = Pattern.compile("(\\d+)([dh])");

  private UnusedCommand() {}

  static int run(List<String> argv, PrintStream out) throws UsageException {
    CliArgs a = CliArgs.parse(argv, Set.of("--config", "--since"), Set.of("--remove"));
    String sinceArg = a.value("--since");
    if (sinceArg == null) {
      throw new UsageException("--since TIME is required");
    }
    Instant since = since(sinceArg, Instant.now());
    boolean remove = a.flag("--remove");
    try (CliContext ctx = CliContext.load(a.value("--config"))) {
      S3Options s3 = ctx.config().sharedStore();
      if (s3 == null) {
        throw new UsageException("no shared store configured (storage.s3)");
      }
      try (SharedStore shared = SharedStore.onS3(s3, ctx.store(), ctx.meters(), 0)) {
        Retention retention = new Retention(shared.objects());
        long bytes = 0;
        List<Retention.Unused> unused = retention.unusedSince(since);
        for (Retention.Unused u : unused) {
          if (remove) {
            retention.remove(u);
          }
          bytes += u.size();
          out.println(
              (remove ? "removed " : "unused ")
                  + shared.objects().describe(u.key())
                  + " "
                  + u.size()
                  + " bytes, last used "
                  + u.lastUsed());
        }
        out.println(
            unused.size()
                + " blob(s), "
                + bytes
                + " bytes not used since "
                + since
                + (remove ? ": removed" : ""));
        return 0;
      } catch (IOException e) {
        out.println("unused failed: " + e.getMessage());
        return 1;
      }
    }
  }

  /** An instant, a date (its start, UTC), or an age before {@code now} (30d, 12h). */
  static Instant since(String v, Instant now) throws UsageException {
    Matcher m = AGE.matcher(v);
    try {
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        return now.minus(m.group(2).equals("d") ? Duration.ofDays(n) : Duration.ofHours(n));
      }
      return v.contains("T")
          ? Instant.parse(v)
          : LocalDate.parse(v).atStartOfDay(ZoneOffset.UTC).toInstant();
    } catch (DateTimeException | ArithmeticException | NumberFormatException e) {
      // An age too long for a long, or for an Instant, is as wrong as a date that does not parse.
      throw new UsageException(
          "--since '" + v + "' (expected 2026-11-01, 2026-11-01T12:00:00Z, 30d or 12h)");
    }
  }
}
