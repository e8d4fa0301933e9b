package dev.ociproxy.testing;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds realistic OCI image manifests and indexes, and computes digests, so tests can serve
 * content that a verifying proxy accepts.
 *
 * <p>Deliberately independent of the main code's value types: the hostile registry must not share a
 * parsing bug with the code it tests.
 */
public final class OciJson {
  public static final String IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String IMAGE_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A content descriptor; {@code platform} is empty unless the descriptor sits in an index. */
  public record Descriptor(
      String mediaType, String digest, long size, Map<String, String> platform) {
    public Descriptor {
      requireNonNull(mediaType, "mediaType");
      requireNonNull(digest, "digest");
      // Insertion order is kept so that the same inputs always give the same bytes and digest.
      platform = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(platform));
    }

    public Descriptor(String mediaType, String digest, long size) {
      this(mediaType, digest, size, Map.of());
    }

    /** This descriptor with an {@code os}/{@code architecture} platform, for index entries. */
    public Descriptor withPlatform(String os, String architecture) {
      var p = new LinkedHashMap<String, String>();
      p.put("architecture", architecture);
      p.put("os", os);
      return new Descriptor(mediaType, digest, size, p);
    }
  }

  private OciJson() {}

  /** {@code sha256:<hex>} of the bytes. */
  public static String sha256(byte[] bytes) {
    return "sha256:" + hex("SHA-256", bytes);
  }

  /** {@code sha512:<hex>} of the bytes. */
  public static String sha512(byte[] bytes) {
    return "sha512:" + hex("SHA-512", bytes);
  }

  static MessageDigest messageDigest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(String algorithm, byte[] bytes) {
    return HexFormat.of().formatHex(messageDigest(algorithm).digest(bytes));
  }

  /** A descriptor of {@code content} under {@code mediaType}, with its sha256 digest and size. */
  public static Descriptor descriptor(String mediaType, byte[] content) {
    return new Descriptor(mediaType, sha256(content), content.length);
  }

  /** A gzip-layer descriptor of {@code content} (the bytes need not really be gzip). */
  public static Descriptor layer(byte[] content) {
    return descriptor(LAYER_TAR_GZIP, content);
  }

  /** A minimal, valid image configuration JSON, made unique by {@code label}. */
  public static byte[] config(String label) {
    var cfg = new LinkedHashMap<String, Object>();
    cfg.put("architecture", "amd64");
    cfg.put("os", "linux");
    cfg.put("config", Map.of("Labels", Map.of("dev.ociproxy.hostile", label)));
    var rootfs = new LinkedHashMap<String, Object>();
    rootfs.put("type", "layers");
    rootfs.put("diff_ids", List.of());
    cfg.put("rootfs", rootfs);
    return write(cfg);
  }

  /** An OCI image manifest whose config is {@code configDigest}/{@code configSize}. */
  public static byte[] manifest(String configDigest, long configSize, Descriptor... layers) {
    return manifest(new Descriptor(IMAGE_CONFIG, configDigest, configSize), layers);
  }

  /** An OCI image manifest with the given config and layers. */
  public static byte[] manifest(Descriptor config, Descriptor... layers) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", IMAGE_MANIFEST);
    m.put("config", descriptorJson(config));
    var ls = new ArrayList<Object>();
    for (Descriptor l : layers) {
      ls.add(descriptorJson(l));
    }
    m.put("layers", ls);
    return write(m);
  }

  /**
   * An artifact manifest about {@code subjectDigest} (a referrer): an empty config of media type
   * {@code configType}, and {@code artifactType} when not null (else the config's type is the
   * artifact's type, as the spec says); {@code label} is its one annotation, to make it unique.
   */
  public static byte[] artifact(
      String artifactType, String configType, String subjectDigest, String label) {
    byte[] empty = "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", IMAGE_MANIFEST);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.put("config", descriptorJson(new Descriptor(configType, sha256(empty), empty.length)));
    m.put(
        "layers",
        List.of(
            descriptorJson(new Descriptor("application/vnd.oci.empty.v1+json", sha256(empty), 2))));
    m.put("subject", descriptorJson(new Descriptor(IMAGE_MANIFEST, subjectDigest, 1)));
    m.put("annotations", Map.of("org.example.label", label));
    return write(m);
  }

  /** An OCI image index over the given manifests (use {@link Descriptor#withPlatform}). */
  public static byte[] index(Descriptor... manifests) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", IMAGE_INDEX);
    var ms = new ArrayList<Object>();
    for (Descriptor d : manifests) {
      ms.add(descriptorJson(d));
    }
    m.put("manifests", ms);
    return write(m);
  }

  /** The {@code mediaType} field of a manifest JSON, or {@code ""} when absent or unparseable. */
  public static String mediaTypeOf(byte[] manifestJson) {
    try {
      return JSON.readTree(manifestJson).path("mediaType").asText("");
    } catch (java.io.IOException e) {
      return "";
    }
  }

  private static Map<String, Object> descriptorJson(Descriptor d) {
    var m = new LinkedHashMap<String, Object>();
    m.put("mediaType", d.mediaType());
    m.put("digest", d.digest());
    m.put("size", d.size());
    if (!d.platform().isEmpty()) {
      m.put("platform", d.platform());
    }
    return m;
  }

  static byte[] write(Object tree) {
    try {
      return JSON.writeValueAsString(tree).getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
