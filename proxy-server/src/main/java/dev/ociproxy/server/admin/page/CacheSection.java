package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.airgap.WarmProgress;

/**
 * The cache: size against {@code cache.maxSize}, entries, hit ratios, evictions and the disk queue.
 */
final class CacheSection {
  private CacheSection() {}

  static void render(Html h, StatusSources s, MeterReadings m, HitRatio ratio, long now) {
    long size = (long) m.sum("registry_proxy_cache_size_bytes");
    h.raw(
            "<section id=\"cache\" data-live aria-labelledby=\"h-cache\"><h2 id=\"h-cache\">Cache</h2><dl>")
        .raw("<dt>Size</dt><dd>");
    if (s.maxSize() > 0) {
      h.raw("<meter min=\"0\" max=\"")
          .text(s.maxSize())
          .raw("\" value=\"")
          .text(Math.min(size, s.maxSize()))
          .raw("\" aria-label=\"cache size against cache.maxSize\"></meter> ")
          .text(
              WarmProgress.size(size)
                  + " of "
                  + WarmProgress.size(s.maxSize())
                  + " (cache.maxSize), "
                  + Math.round(100.0 * size / s.maxSize())
                  + "% full");
    } else {
      h.text(WarmProgress.size(size) + " (no cache.maxSize: unlimited)");
    }
    h.raw("</dd><dt>Entries</dt><dd>")
        .text((long) m.sum("registry_proxy_cache_entries") + " file(s) of verified content")
        .raw("</dd><dt>Blob hit ratio</dt><dd>")
        .text(ratio.blobs(now).describe())
        .raw("</dd><dt>Manifest hit ratio</dt><dd>")
        .text(ratio.manifests(now).describe())
        .raw("</dd><dt>Evictions since start</dt><dd>")
        .text((long) m.sum("registry_proxy_cache_evictions"))
        .raw("</dd><dt>Waiting for the disk</dt><dd>")
        .text(WarmProgress.size((long) m.sum("registry_proxy_disk_queue_bytes")))
        .raw("</dd><dt>Bytes served from the cache since start</dt><dd>")
        .text(WarmProgress.size((long) m.sum("registry_proxy_served_bytes", "source", "cache")))
        .raw("</dd></dl></section>");
  }
}
