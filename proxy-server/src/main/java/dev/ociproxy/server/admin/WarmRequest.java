package dev.ociproxy.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.ociproxy.core.airgap.Attached;
import dev.ociproxy.core.airgap.ImageRef;
import dev.ociproxy.core.airgap.Platform;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The body of {@code POST /admin/warm}: {@code {"refs": ["upstream/repo:tag", …], "platforms":
 * ["linux/amd64", …], "referrers": true, "artifactTypes": ["application/spdx+json"], "signatures":
 * true}} (all but {@code refs} optional: every platform of an index, nothing attached). Parsed
 * strictly — unknown fields, duplicate keys and trailing content are refused — because a typo such
 * as {@code "platform"} would otherwise silently warm every platform.
 */
record WarmRequest(List<ImageRef> refs, Set<Platform> platforms, Attached attached) {
  static final String EXPECTED =
      "expected: {\"refs\": [\"upstream/repo:tag\", ...], \"platforms\": [\"linux/amd64\", ...]}";
  private static final Set<String> FIELDS =
      Set.of("refs", "platforms", "referrers", "artifactTypes", "signatures");
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  WarmRequest {
    refs = List.copyOf(refs);
    platforms = Set.copyOf(platforms);
    requireNonNull(attached, "attached");
  }

  /**
   * Parses {@code body}; references are resolved like the {@code warm} command's.
   *
   * @throws IllegalArgumentException with a message for the client, naming what is wrong
   */
  static WarmRequest parse(
      byte[] body, Collection<String> upstreams, @Nullable String defaultUpstream) {
    requireNonNull(body, "body");
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String m = e.getOriginalMessage();
      int marker =
          m.indexOf(" (start marker at"); // Jackson's own location text names a redacted source
      throw new IllegalArgumentException(
          "malformed JSON: "
              + (marker < 0 ? m : m.substring(0, marker))
              + (at == null
                  ? ""
                  : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
    } catch (IOException e) {
      throw new IllegalArgumentException("malformed JSON: " + e.getMessage());
    }
    if (root == null || root.isMissingNode()) {
      throw new IllegalArgumentException("empty body (" + EXPECTED + ")");
    }
    if (!root.isObject()) {
      throw new IllegalArgumentException(
          "body: a JSON "
              + root.getNodeType().name().toLowerCase(Locale.ROOT)
              + " ("
              + EXPECTED
              + ")");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        throw new IllegalArgumentException(
            "unknown field '"
                + f
                + "' (expected: refs, platforms, referrers, artifactTypes, signatures)");
      }
    }
    List<String> refTexts = strings(root, "refs");
    if (refTexts == null || refTexts.isEmpty()) {
      throw new IllegalArgumentException("refs: missing or empty (" + EXPECTED + ")");
    }
    Set<ImageRef> refs = new LinkedHashSet<>();
    for (String s : refTexts) {
      refs.add(
          ImageRef.parse(s, upstreams, defaultUpstream)); // its message names s and the problem
    }
    Set<Platform> platforms = new LinkedHashSet<>();
    List<String> platformTexts = strings(root, "platforms");
    if (platformTexts != null) {
      for (String s : platformTexts) {
        platforms.add(Platform.parse(s));
      }
    }
    List<String> types = strings(root, "artifactTypes");
    boolean referrers = bool(root, "referrers");
    if (types != null && !types.isEmpty() && !referrers) {
      throw new IllegalArgumentException(
          "artifactTypes: filters the referrers (expected: with \"referrers\": true)");
    }
    Attached attached =
        new Attached(
            referrers, types == null ? Set.of() : Set.copyOf(types), bool(root, "signatures"));
    return new WarmRequest(List.copyOf(refs), platforms, attached);
  }

  /** The boolean {@code field}; false when absent (or JSON null). */
  private static boolean bool(JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return false;
    }
    if (!n.isBoolean()) {
      throw new IllegalArgumentException(
          field
              + ": a JSON "
              + n.getNodeType().name().toLowerCase(Locale.ROOT)
              + " (expected: true or false)");
    }
    return n.booleanValue();
  }

  /** The array of strings {@code field}, or null when absent (or JSON null). */
  private static @Nullable List<String> strings(JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isArray()) {
      throw new IllegalArgumentException(
          field
              + ": a JSON "
              + n.getNodeType().name().toLowerCase(Locale.ROOT)
              + " (expected: an array of strings)");
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      JsonNode e = n.get(i);
      if (!e.isTextual()) {
        throw new IllegalArgumentException(field + "[" + i + "]: " + e + " (expected: a string)");
      }
      out.add(e.textValue());
    }
    return out;
  }
}
