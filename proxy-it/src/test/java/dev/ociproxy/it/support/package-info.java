/**
 * End-to-end test support: real registries, real clients and our proxy as separate processes on
 * free loopback ports, in private temp dirs, always stopped by pid.
 *
 * <p>Typical use in an {@code *IT} class:
 *
 * <pre>{@code
 * @ExtendWith(ProcessGuard.class)            // prints logs on failure, stops leftovers by pid
 * class PullThroughIT {
 *   @TempDir Path tmp;
 *
 *   @Test
 *   void containerdPullsThroughTheProxy() {
 *     Containerd.availability().assumeAvailable();   // skipped with a reason if it cannot run here
 *     OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", 4 << 20, 100_000);
 *     try (UpstreamRegistry upstream = UpstreamRegistry.startOpen();
 *         ProxyProcess proxy = ProxyProcess.builder().upstream("registry.example.com", upstream.url()).start();
 *         Containerd containerd = Containerd.start()) {
 *       Skopeo.push(image, upstream, "test/hello:multi");
 *       containerd.mirror("registry.example.com", proxy.hostPort());
 *       containerd.pull("registry.example.com/test/hello:multi");
 *       assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(
 *           image.digestsFor(Platform.LINUX_AMD64));
 *     }
 *   }
 * }
 * }</pre>
 *
 * <p>Processes: {@link dev.ociproxy.it.support.ManagedProcess} (stop = SIGTERM then SIGKILL,
 * including descendants; a JVM shutdown hook kills whatever is left). Logs go to {@code
 * target/it-logs} ({@code -Dharness.logDir}); temp dirs are deleted on close unless {@code
 * -Dharness.keep=true}.
 */
package dev.ociproxy.it.support;
