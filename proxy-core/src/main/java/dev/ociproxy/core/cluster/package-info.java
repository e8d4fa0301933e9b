/**
 * Replicas that know each other: who is in the fleet and healthy ({@link Membership}), which of
 * them owns a digest or a tag ({@link Rendezvous}), and how one replica asks another for a blob, or
 * what a tag names, over the authenticated peer path ({@link PeerAuth}, {@link Cluster}). A peer is
 * trusted no more than an upstream: what it sends is verified by the asking replica like any
 * upstream body, and a tag's answer only picks the digest the replica fetches and verifies.
 */
@NullMarked
package dev.ociproxy.core.cluster;

import org.jspecify.annotations.NullMarked;
