package dev.ociproxy.core.cache;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;

/**
 * Where what this replica verified is copied for the others (the shared store, {@code storage.s3});
 * {@link #NONE} for a replica of its own. Called only with verified content and records, after they
 * are in the local store; an implementation copies them in the background and never blocks.
 */
public interface Mirror {
  /** Copies nothing. */
  Mirror NONE =
      new Mirror() {
        @Override
        public void blob(Digest d) {}

        @Override
        public void manifest(Digest d, byte[] verified) {}

        @Override
        public void tag(String upstream, RepositoryName repo, Tag tag, TagIndex.Entry e) {}

        @Override
        public void link(String upstream, RepositoryName repo, Digest d) {}

        @Override
        public void served(String upstream, Digest d) {}
      };

  /** The verified blob {@code d} was just published in the local store. */
  void blob(Digest d);

  void manifest(Digest d, byte[] verified);

  void tag(String upstream, RepositoryName repo, Tag tag, TagIndex.Entry e);

  /** See {@link RepositoryLinks#add}. */
  void link(String upstream, RepositoryName repo, Digest d);

  /** See {@link RepositoryLinks#addServed}. */
  void served(String upstream, Digest d);

  /** The verified blob {@code d} was handed out (for retention: what is still in use). */
  default void used(Digest d) {}
}
