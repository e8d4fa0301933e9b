package dev.ociproxy.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.airgap.DriftLog;
import dev.ociproxy.core.airgap.WarmProgress;
import dev.ociproxy.core.airgap.WarmReport;
import java.util.List;

/**
 * Renders the JSON bodies of the admin actions. Written by hand from the core records (rather than
 * bound with annotations) so the core stays free of Jackson and the wire shape is visible here.
 */
final class AdminJson {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private AdminJson() {}

  /**
   * {@code {"ok", "refs", "complete", "failed", "blobs": {done, total, failed}, "bytes": {done,
   * total}, "results": [per reference]}}.
   */
  static byte[] warm(WarmReport report, WarmProgress.Snapshot progress) {
    ObjectNode root = JSON.createObjectNode();
    root.put("ok", report.ok());
    root.put("refs", report.items().size());
    root.put("complete", report.items().size() - report.failed());
    root.put("failed", report.failed());
    ObjectNode blobs = root.putObject("blobs");
    blobs.put("done", progress.blobsDone());
    blobs.put("total", progress.blobsTotal());
    blobs.put("failed", progress.blobsFailed());
    ObjectNode bytes = root.putObject("bytes");
    bytes.put("done", progress.bytesDone());
    bytes.put("total", progress.bytesTotal());
    ArrayNode results = root.putArray("results");
    for (WarmReport.Item i : report.items()) {
      ObjectNode r = results.addObject();
      r.put("ref", i.ref().toString());
      r.put("ok", i.ok());
      r.put("digest", i.digest() == null ? null : i.digest().toString());
      r.put("mediaType", i.mediaType());
      r.put("manifests", i.manifests());
      r.put("referrers", i.referrers());
      r.put("signatures", i.signatures());
      r.put("blobsFetched", i.blobsFetched());
      r.put("blobsCached", i.blobsCached());
      r.put("bytesFetched", i.bytesFetched());
      r.put("bytesCached", i.bytesCached());
      ArrayNode problems = r.putArray("problems");
      i.problems().forEach(problems::add);
    }
    return write(root);
  }

  /** {@code {"drifted": n, "drifts": [{"tag", "pinned", "upstream", "since", "lastChecked"}]}}. */
  static byte[] drift(List<DriftLog.Drift> drifts) {
    ObjectNode root = JSON.createObjectNode();
    root.put("drifted", drifts.size());
    ArrayNode all = root.putArray("drifts");
    for (DriftLog.Drift d : drifts) {
      ObjectNode o = all.addObject();
      o.put("tag", d.tag().toString());
      o.put("pinned", d.pinned().toString());
      o.put("upstream", d.upstream().toString());
      o.put("since", d.since().toString());
      o.put("lastChecked", d.lastChecked().toString());
    }
    return write(root);
  }

  /** {@code {"error": message}}. */
  static byte[] error(String message) {
    ObjectNode root = JSON.createObjectNode();
    root.put("error", message);
    return write(root);
  }

  private static byte[] write(ObjectNode root) {
    try {
      byte[] b = JSON.writeValueAsBytes(root);
      byte[] withNewline = java.util.Arrays.copyOf(b, b.length + 1);
      withNewline[b.length] = '\n'; // so curl output ends the line
      return withNewline;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
