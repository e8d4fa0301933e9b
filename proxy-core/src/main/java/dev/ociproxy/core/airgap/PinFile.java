package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pin file on disk and the {@link Pins} last read from it. {@link #reloadIfChanged} re-reads it
 * when its bytes changed; a file that no longer parses is logged and the previous pins stay in
 * force, so a typo never unpins a site. Thread-safe.
 */
public final class PinFile {
  private static final Logger log = LoggerFactory.getLogger(PinFile.class);

  /**
   * Turns the file's bytes into {@code reference → digest} entries (YAML or JSON; the server's).
   */
  @FunctionalInterface
  public interface Parser {
    Map<String, String> parse(byte[] content) throws IOException;
  }

  private final Path file;
  private final Parser parser;
  private final List<String> upstreams;
  private final @Nullable String defaultUpstream;
  private volatile Pins current = Pins.empty();
  private volatile byte[] lastBytes = new byte[0];

  private PinFile(
      Path file, Parser parser, Collection<String> upstreams, @Nullable String defaultUpstream) {
    this.file = requireNonNull(file, "file");
    this.parser = requireNonNull(parser, "parser");
    this.upstreams = List.copyOf(upstreams);
    this.defaultUpstream = defaultUpstream;
  }

  /**
   * Reads the pin file now.
   *
   * @throws IllegalArgumentException when it cannot be read or has a bad entry; the message names
   *     the file and the entry
   */
  public static PinFile load(
      Path file, Parser parser, Collection<String> upstreams, @Nullable String defaultUpstream) {
    PinFile f = new PinFile(file, parser, upstreams, defaultUpstream);
    byte[] bytes = f.read();
    f.current = f.parse(bytes);
    f.lastBytes = bytes;
    return f;
  }

  public Path path() {
    return file;
  }

  public Pins pins() {
    return current;
  }

  /** Re-reads the file if its content changed; returns true when new pins took effect. */
  public boolean reloadIfChanged() {
    byte[] bytes;
    try {
      bytes = read();
    } catch (IllegalArgumentException e) {
      log.error("{}; keeping the {} pin(s) loaded before", e.getMessage(), current.size());
      return false;
    }
    if (Arrays.equals(bytes, lastBytes)) {
      return false;
    }
    lastBytes = bytes;
    try {
      Pins fresh = parse(bytes);
      current = fresh;
      log.info("pins reloaded from {}: {} pinned tag(s)", file, fresh.size());
      return true;
    } catch (IllegalArgumentException e) {
      log.error("{}; keeping the {} pin(s) loaded before", e.getMessage(), current.size());
      return false;
    }
  }

  private byte[] read() {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("pins: cannot read " + file + ": " + e, e);
    }
  }

  private Pins parse(byte[] bytes) {
    try {
      return Pins.of(parser.parse(bytes), upstreams, defaultUpstream);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "pins: " + file + " is not a valid pin file: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("pins: " + file + ": " + e.getMessage(), e);
    }
  }
}
