package dev.ociproxy.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.ociproxy.core.airgap.Pins;
import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The pin file: a YAML (or JSON, which YAML reads too) mapping of {@code upstream/repo:tag} to the
 * approved {@code sha256:…} digest, optionally under a top-level {@code pins:} key.
 *
 * <pre>
 * "registry.example.com/library/alpine:3.20": "sha256:…"
 * </pre>
 */
public final class PinFileFormat {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private PinFileFormat() {}

  /** Reads the entries in file order; implements {@code PinFile.Parser}. */
  public static Map<String, String> parse(byte[] content) throws IOException {
    JsonNode root = YAML.readTree(content);
    Map<String, String> out = new LinkedHashMap<>();
    if (root == null || root.isMissingNode() || root.isNull()) {
      return out;
    }
    if (root.isObject() && root.size() == 1 && root.has("pins") && root.get("pins").isObject()) {
      root = root.get("pins");
    }
    if (!root.isObject()) {
      throw new IOException("expected a mapping of upstream/repo:tag to sha256:… digests");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new IOException(
            "pin '"
                + e.getKey()
                + "': expected a digest string, got "
                + e.getValue().getNodeType());
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  /**
   * Adds (or replaces) pins in {@code file}, keeping the others, and writes it atomically as YAML.
   * Used by {@code warm --write-pins} so that fetch, review, pin is one step.
   */
  public static void merge(Path file, Map<Pins.Key, Digest> pins) throws IOException {
    Map<String, String> all = new LinkedHashMap<>();
    if (Files.exists(file)) {
      all.putAll(parse(Files.readAllBytes(file)));
    }
    pins.forEach((k, d) -> all.put(k.toString(), d.toString()));
    StringBuilder y =
        new StringBuilder(
                "# registry-proxy pins: upstream/repo:tag -> the only digest it may mean\n")
            .append("# updated by 'warm --write-pins' at ")
            .append(Instant.now())
            .append('\n');
    all.forEach(
        (k, v) ->
            y.append('"')
                .append(k.replace("\"", "\\\""))
                .append("\": \"")
                .append(v)
                .append("\"\n"));
    Path abs = file.toAbsolutePath();
    Files.createDirectories(abs.getParent());
    Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
    Files.writeString(tmp, y, StandardCharsets.UTF_8);
    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
