/**
 * Replicas that know each other: who is in the fleet and healthy ({@link Membership}), which of
 * them owns a digest ({@link Rendezvous}), and how one replica asks another for a blob over the
 * authenticated peer path ({@link PeerAuth}, {@link Cluster}). A peer is trusted no more than an
 * upstream: what it sends is verified by the asking replica like any upstream body.
 */
@NullMarked
package dev.ociproxy.core.cluster;

import org.jspecify.annotations.NullMarked;
