package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.airgap.Airgap;
import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.airgap.WarmJobs;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamStatus;
import dev.ociproxy.core.verify.Refusals;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A status page over a real store in a temporary directory, one upstream, and meters in memory. */
final class PageFixture implements AutoCloseable {
  static final String UP = "up.example";

  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final ContentStore store;
  final Refusals refusals = new Refusals(meters);
  final WarmJobs warms = new WarmJobs();
  final Airgap airgap;
  final StatusPage page;
  volatile UpstreamStatus status = new UpstreamStatus(null, null, null, 0);

  PageFixture(Path cache) {
    store = new ContentStore(cache, 0, meters, dev.ociproxy.core.cache.DirectWrites.NEVER).open();
    airgap = Airgap.start(AirgapOptions.none(), Map.of(), null, meters, null);
    page =
        new StatusPage(
            new StatusSources(
                List.of(
                    new StatusSources.Upstream(UP, "http://127.0.0.1:1", () -> status, refusals)),
                store,
                0,
                meters,
                airgap,
                warms));
  }

  /** Records {@code upstream/repo:tag} as verified, the way a pull through the proxy does. */
  Digest tag(String repo, String tag) {
    Digest d = Digest.sha256((repo + ":" + tag).getBytes(StandardCharsets.UTF_8));
    new TagIndex(store.root(), UP, Runnable::run, store.catalog())
        .put(
            new RepositoryName(repo),
            new Tag(tag),
            new TagIndex.Entry(d, MediaTypes.OCI_MANIFEST, 1_700_000_000_000L, false));
    return d;
  }

  String render(String query) {
    return page.render(
        StatusPage.View.of(
            new io.netty.handler.codec.http.QueryStringDecoder("/" + query).parameters()),
        false,
        true,
        false);
  }

  @Override
  public void close() {
    page.close();
    airgap.close();
    store.close();
  }
}
