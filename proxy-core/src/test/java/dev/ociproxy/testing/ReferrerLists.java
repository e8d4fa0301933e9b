package dev.ociproxy.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The hostile registry's referrers API ({@code GET /v2/<repo>/referrers/<digest>}). Honest by
 * default: every stored manifest whose {@code subject} is the digest, with its artifact type, as
 * zot answers. Told to, it lists descriptors of the test's choosing (a manifest about another
 * subject, a wrong digest or size), ends every page with a {@code Link} of the test's choosing (to
 * another host, or to itself: endless pages), or has no API at all (404, as distribution 2.8).
 */
public final class ReferrerLists {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, List<Map<String, Object>>> listed = new ConcurrentHashMap<>();
  private volatile boolean api = true;
  private volatile String link;

  /** Answers 404 {@code 404 page not found}, as registries without the API do. */
  public void withoutApi() {
    api = false;
  }

  /**
   * Lists {@code digest} (with the claimed media type and size) among the referrers of {@code
   * subject}, in place of its honest entry if it has one.
   */
  public void list(String repo, String subject, String mediaType, String digest, long size) {
    var d = new LinkedHashMap<String, Object>();
    d.put("mediaType", mediaType);
    d.put("digest", digest);
    d.put("size", size);
    listed.computeIfAbsent(repo + "@" + subject, k -> new CopyOnWriteArrayList<>()).add(d);
  }

  /** Every referrers page ends with {@code Link: <target>; rel="next"}. */
  public void nextLink(String target) {
    link = "<" + target + ">; rel=\"next\"";
  }

  Reply answer(RecordedRequest req, OciRoutes.Route route, ContentStore store) {
    if (!api) {
      Reply r = new Reply(404).header("Content-Type", "text/plain; charset=utf-8");
      r.body = "404 page not found\n".getBytes(StandardCharsets.UTF_8);
      return r;
    }
    String subject = route.reference();
    List<Map<String, Object>> lies = listed.getOrDefault(route.repo() + "@" + subject, List.of());
    List<Map<String, Object>> manifests = new ArrayList<>();
    for (ContentStore.Manifest m : store.manifests(route.repo())) {
      JsonNode root = parse(m.bytes());
      boolean overridden = lies.stream().anyMatch(d -> d.get("digest").equals(m.digest()));
      if (!overridden && subject.equals(root.path("subject").path("digest").asText(null))) {
        var d = new LinkedHashMap<String, Object>();
        d.put("mediaType", m.mediaType());
        d.put("digest", m.digest());
        d.put("size", m.bytes().length);
        String type =
            root.path("artifactType").asText(root.path("config").path("mediaType").asText(null));
        if (type != null) {
          d.put("artifactType", type);
        }
        manifests.add(d);
      }
    }
    manifests.addAll(lies);
    var index = new LinkedHashMap<String, Object>();
    index.put("schemaVersion", 2);
    index.put("mediaType", OciJson.IMAGE_INDEX);
    index.put("manifests", manifests);
    Reply r = Reply.json(200, OciJson.write(index)).header("Content-Type", OciJson.IMAGE_INDEX);
    if (link != null) {
      r.header("Link", link);
    }
    return r;
  }

  private static JsonNode parse(byte[] json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      return JSON.createObjectNode();
    }
  }
}
