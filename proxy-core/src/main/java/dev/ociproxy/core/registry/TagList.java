package dev.ociproxy.core.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.oci.RepositoryName;
import java.io.UncheckedIOException;
import java.util.Collection;
import org.jspecify.annotations.Nullable;

/** A tags/list page, with the upstream's {@code Link} to the next page (null when last). */
// The page is bytes to serve: a TagList is never compared or hashed, only read.
@SuppressWarnings("ArrayRecordComponent")
public record TagList(byte[] json, @Nullable String nextLink) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A single page listing {@code tags}, built here rather than asked of an upstream. */
  public static TagList of(RepositoryName repo, Collection<String> tags) {
    ObjectNode root = JSON.createObjectNode().put("name", repo.value());
    tags.forEach(root.putArray("tags")::add);
    try {
      return new TagList(JSON.writeValueAsBytes(root), null);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e); // a tree of strings always serialises
    }
  }
}
