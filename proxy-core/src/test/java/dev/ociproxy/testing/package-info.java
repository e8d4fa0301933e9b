/**
 * Test fixtures shipped in proxy-core's test-jar: {@link dev.ociproxy.testing.HostileRegistry}, an
 * OCI upstream that lies on demand, {@link dev.ociproxy.testing.RawHttpClient} to observe framing
 * exactly, and {@link dev.ociproxy.testing.OciJson} to build realistic manifests.
 *
 * <p>Nothing here depends on proxy-core's main code, so a bug there cannot hide in the fixture.
 */
package dev.ociproxy.testing;
