package dev.ociproxy.core.airgap;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.Referrers;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * How a verified referrers list crosses the gap: as the referrers tag schema lays it out, an image
 * index tagged {@code sha256-<hex>} whose entries are the referrers of that digest. Export writes
 * the list it holds that way; import rebuilds the list from the verified manifests the index names,
 * each of which must name that digest as its {@code subject}, every listed field recomputed from
 * the manifest's own bytes (as the pull-through does), never copied from the index.
 */
final class ReferrerList {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern SCHEMA_TAG = Pattern.compile("(sha256|sha512)-([0-9a-f]{64})");

  private ReferrerList() {}

  /**
   * The subject a tag of the referrers tag schema names, or null for any other tag. A sha512 tag
   * keeps only the first 64 hex characters (tags are short), so its subject is the one a verified
   * referrer of {@code index} names that starts with them; {@link #rebuild} then holds every entry
   * to it.
   */
  static @Nullable Digest subjectOfTag(
      @Nullable Tag tag,
      ImageGraph.@Nullable Node index,
      Function<Digest, ImageGraph.@Nullable Node> verified) {
    Matcher m = tag == null ? null : SCHEMA_TAG.matcher(tag.value());
    if (m == null || !m.matches()) {
      return null;
    }
    if (m.group(1).equals("sha256")) {
      return Digest.parse("sha256:" + m.group(2));
    }
    if (index == null || !index.doc().isIndex()) {
      return null;
    }
    for (Descriptor d : index.doc().manifests()) {
      ImageGraph.Node n = verified.apply(d.digest());
      Digest claimed = n == null ? null : subjectOf(n);
      if (claimed != null
          && claimed.algorithm() == Algorithm.SHA512
          && claimed.hex().startsWith(m.group(2))) {
        return claimed;
      }
    }
    return null;
  }

  /**
   * The verified list of {@code subject} from the referrers {@code index} lists, whose manifests
   * {@code verified} gives (null for one not verified); each not verified or whose subject is
   * another digest is one of {@code problems}.
   */
  static Referrers rebuild(
      Digest subject,
      ImageGraph.Node index,
      Function<Digest, ImageGraph.@Nullable Node> verified,
      Consumer<String> problems) {
    List<Referrers.Referrer> out = new ArrayList<>();
    if (!index.doc().isIndex()) {
      problems.accept(
          "referrers of " + subject + ": a " + index.doc().mediaType() + ", not an index");
      return new Referrers(subject, out, false);
    }
    for (Descriptor d : index.doc().manifests()) {
      ImageGraph.Node n = verified.apply(d.digest());
      if (n == null) {
        problems.accept("referrer " + d.digest() + " of " + subject + " was not verified");
        continue;
      }
      Digest claimed = subjectOf(n);
      if (!subject.equals(claimed)) {
        problems.accept(
            "referrer "
                + d.digest()
                + " is listed under "
                + subject
                + " but its subject is "
                + (claimed == null ? "none" : claimed));
      } else {
        // The pull-through's entry for it: its subject, checked above, holds no surprise.
        out.add(
            Referrers.referrer(subject, n.descriptor().digest(), n.doc().mediaType(), n.body()));
      }
    }
    return new Referrers(subject, out, false);
  }

  /** The {@code subject} a manifest names, or null. */
  static @Nullable Digest subjectOf(ImageGraph.Node n) {
    try {
      String s = JSON.readTree(n.body()).path("subject").path("digest").asText(null);
      return s == null ? null : Digest.parse(s);
    } catch (IOException | RegistryException e) {
      return null;
    }
  }
}
