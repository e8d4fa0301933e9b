/**
 * Signature policy at the gateway: which keys must have signed what an upstream serves
 * (containers-policy.json's vocabulary), the cosign signature formats verified with the JDK's own
 * crypto, and {@link dev.ociproxy.core.policy.SignedOnly}, the {@code Registry} that serves a
 * manifest only once a trusted signature covers it.
 */
@NullMarked
package dev.ociproxy.core.policy;

import org.jspecify.annotations.NullMarked;
