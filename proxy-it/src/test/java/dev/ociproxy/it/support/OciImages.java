package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.it.support.OciImage.Blob;
import dev.ociproxy.it.support.OciImage.PlatformImage;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * Writes OCI image layouts to disk without a container engine: random, incompressible layers (tars
 * of generated files, gzip by default), a config, a manifest per platform, an optional image index,
 * {@code index.json} and {@code oci-layout}.
 *
 * <p>Every image is unique unless a {@link Builder#seed(long) seed} is given, so a cache can never
 * be warm by accident. Push the result with {@link Skopeo#push}. Several images (tags) may share
 * one layout; {@code index.json} is merged.
 */
public final class OciImages {

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  public static final String DOCKER_LAYER_GZIP =
      "application/vnd.docker.image.rootfs.diff.tar.gzip";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REF_NAME = "org.opencontainers.image.ref.name";

  private OciImages() {}

  /**
   * A single-arch (linux/amd64) image whose gzip layers carry {@code layerSizes} random bytes each.
   */
  public static OciImage singleArch(Path layout, String tag, long... layerSizes) {
    return builder().tag(tag).layers(layerSizes).build(layout);
  }

  /**
   * A multi-arch image: an OCI index over linux/amd64 and linux/arm64, each with its own random
   * layers.
   */
  public static OciImage multiArch(Path layout, String tag, long... layerSizes) {
    return builder()
        .tag(tag)
        .layers(layerSizes)
        .platforms(Platform.LINUX_AMD64, Platform.LINUX_ARM64)
        .build(layout);
  }

  /**
   * A single-arch image with {@code count} small layers of {@code size} bytes (Docker caps images
   * at ~125 layers).
   */
  public static OciImage manySmallLayers(Path layout, String tag, int count, long size) {
    return builder()
        .tag(tag)
        .layers(LongStream.generate(() -> size).limit(count).toArray())
        .build(layout);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Describes the image to write; call {@link #build(Path)} to write it. */
  public static final class Builder {
    private String tag = "v1";
    private long[] layerSizes = {1024 * 1024};
    private List<Platform> platforms = List.of(Platform.LINUX_AMD64);
    private boolean index;
    private boolean gzip = true;
    private boolean dockerMediaTypes;
    private Long seed;

    private Builder() {}

    public Builder tag(String t) {
      this.tag = requireNonNull(t, "tag");
      return this;
    }

    /**
     * Random payload bytes per layer, one entry per layer (the blob is a little larger: tar
     * headers).
     */
    public Builder layers(long... sizes) {
      this.layerSizes = sizes.clone();
      return this;
    }

    /** One platform makes a plain manifest; more make an image index over one manifest each. */
    public Builder platforms(Platform... ps) {
      if (ps.length == 0) {
        throw new IllegalArgumentException("platforms: none (expected: at least one)");
      }
      this.platforms = List.of(ps);
      this.index = ps.length > 1;
      return this;
    }

    /** Wraps even a single platform in an image index. */
    public Builder forceIndex() {
      this.index = true;
      return this;
    }

    /** Uncompressed ({@code .tar}) layers instead of gzip: blob digest equals diff id. */
    public Builder uncompressed() {
      this.gzip = false;
      return this;
    }

    /**
     * Docker schema 2 media types (manifest list, v2 manifest, rootfs.diff.tar.gzip) instead of OCI
     * ones.
     */
    public Builder dockerMediaTypes() {
      this.dockerMediaTypes = true;
      return this;
    }

    /**
     * Makes the content reproducible (same seed, same digests); by default every image is unique.
     */
    public Builder seed(long s) {
      this.seed = s;
      return this;
    }

    public OciImage build(Path layout) {
      if (dockerMediaTypes && !gzip) {
        throw new IllegalStateException("docker media types need gzip layers here");
      }
      try {
        return new Writer(this, layout).write();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write OCI layout " + layout, e);
      }
    }
  }

  private static final class Writer {
    private final Builder spec;
    private final Path layout;
    private final SplittableRandom random;
    private final String nonce;

    Writer(Builder spec, Path layout) {
      this.spec = spec;
      this.layout = layout;
      long seed = spec.seed != null ? spec.seed : new SecureRandom().nextLong();
      this.random = new SplittableRandom(seed);
      this.nonce = Long.toHexString(seed);
    }

    OciImage write() throws IOException {
      Files.createDirectories(layout.resolve("blobs/sha256"));
      Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
      List<PlatformImage> images = new ArrayList<>();
      for (Platform p : spec.platforms) {
        images.add(writeImage(p));
      }
      Optional<Blob> index = Optional.empty();
      if (spec.index) {
        ObjectNode idx =
            JSON.createObjectNode()
                .put("schemaVersion", 2)
                .put("mediaType", spec.dockerMediaTypes ? DOCKER_LIST : OCI_INDEX);
        ArrayNode manifests = idx.putArray("manifests");
        for (PlatformImage image : images) {
          ObjectNode d = descriptor(manifests.addObject(), image.manifest());
          ObjectNode platform =
              d.putObject("platform")
                  .put("architecture", image.platform().architecture())
                  .put("os", image.platform().os());
          if (!image.platform().variant().isEmpty()) {
            platform.put("variant", image.platform().variant());
          }
        }
        index = Optional.of(writeJson(idx, spec.dockerMediaTypes ? DOCKER_LIST : OCI_INDEX));
      }
      OciImage image = new OciImage(layout, spec.tag, index, images);
      addToIndexJson(image.top());
      return image;
    }

    private PlatformImage writeImage(Platform platform) throws IOException {
      List<Blob> layers = new ArrayList<>();
      List<String> diffIds = new ArrayList<>();
      for (int i = 0; i < spec.layerSizes.length; i++) {
        String[] blobAndDiff = writeLayer(platform, i, spec.layerSizes[i], layers);
        diffIds.add(blobAndDiff[1]);
      }
      ObjectNode config =
          JSON.createObjectNode()
              .put("created", "2024-01-01T00:00:00Z")
              .put("architecture", platform.architecture())
              .put("os", platform.os());
      if (!platform.variant().isEmpty()) {
        config.put("variant", platform.variant());
      }
      ObjectNode cfg = config.putObject("config");
      cfg.putArray("Env").add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      cfg.putArray("Cmd").add("/layer-0/data.bin");
      cfg.putObject("Labels")
          .put("dev.ociproxy.it.nonce", nonce)
          .put("dev.ociproxy.it.platform", platform.toString());
      ObjectNode rootfs = config.putObject("rootfs").put("type", "layers");
      ArrayNode ids = rootfs.putArray("diff_ids");
      diffIds.forEach(ids::add);
      ArrayNode history = config.putArray("history");
      for (int i = 0; i < diffIds.size(); i++) {
        history
            .addObject()
            .put("created", "2024-01-01T00:00:00Z")
            .put("created_by", "harness layer " + i);
      }
      Blob configBlob = writeJson(config, spec.dockerMediaTypes ? DOCKER_CONFIG : OCI_CONFIG);

      String manifestType = spec.dockerMediaTypes ? DOCKER_MANIFEST : OCI_MANIFEST;
      ObjectNode manifest =
          JSON.createObjectNode().put("schemaVersion", 2).put("mediaType", manifestType);
      descriptor(manifest.putObject("config"), configBlob);
      ArrayNode layerArray = manifest.putArray("layers");
      layers.forEach(l -> descriptor(layerArray.addObject(), l));
      Blob manifestBlob = writeJson(manifest, manifestType);
      return new PlatformImage(platform, manifestBlob, configBlob, layers, diffIds);
    }

    /**
     * Writes one layer blob; returns {blob digest, diff id} and appends the descriptor to {@code
     * layers}.
     */
    private String[] writeLayer(Platform platform, int n, long size, List<Blob> layers)
        throws IOException {
      Path tmp = Files.createTempFile(layout.resolve("blobs"), "layer-", ".tmp");
      MessageDigest blobDigest = sha256();
      MessageDigest diffDigest = sha256();
      long blobSize;
      try (CountingOutputStream counted =
              new CountingOutputStream(
                  new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16));
          DigestOutputStream blobOut = new DigestOutputStream(counted, blobDigest)) {
        OutputStream compressed = spec.gzip ? new FastGzip(blobOut) : blobOut;
        DigestOutputStream tarOut = new DigestOutputStream(compressed, diffDigest);
        Tar tar = new Tar(tarOut);
        String dir = "layer-" + n + "/";
        tar.directory(dir);
        tar.file(dir + "platform.txt", (platform + " " + nonce + " layer " + n + "\n").getBytes());
        tar.randomFile(dir + "data.bin", size, random);
        tar.finish();
        tarOut.flush();
        if (compressed instanceof FastGzip gz) {
          gz.finish();
        }
        blobOut.flush();
        blobSize = counted.count();
      }
      String digest = "sha256:" + HexFormat.of().formatHex(blobDigest.digest());
      String diffId = "sha256:" + HexFormat.of().formatHex(diffDigest.digest());
      Files.move(
          tmp,
          blobPathOf(digest),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
      String type =
          spec.dockerMediaTypes ? DOCKER_LAYER_GZIP : spec.gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR;
      layers.add(new Blob(type, digest, blobSize));
      return new String[] {digest, diffId};
    }

    private Blob writeJson(JsonNode node, String mediaType) throws IOException {
      byte[] bytes = JSON.writeValueAsBytes(node);
      String digest = "sha256:" + HexFormat.of().formatHex(sha256().digest(bytes));
      Files.write(blobPathOf(digest), bytes);
      return new Blob(mediaType, digest, bytes.length);
    }

    private void addToIndexJson(Blob top) throws IOException {
      Path indexJson = layout.resolve("index.json");
      ObjectNode root;
      if (Files.exists(indexJson)) {
        root = (ObjectNode) JSON.readTree(indexJson.toFile());
      } else {
        root = JSON.createObjectNode().put("schemaVersion", 2);
        root.putArray("manifests");
      }
      ArrayNode old = (ArrayNode) root.get("manifests");
      ArrayNode manifests = JSON.createArrayNode();
      old.forEach(
          m -> {
            if (!spec.tag.equals(m.path("annotations").path(REF_NAME).asText())) {
              manifests.add(m);
            }
          });
      descriptor(manifests.addObject(), top).putObject("annotations").put(REF_NAME, spec.tag);
      root.set("manifests", manifests);
      Files.write(indexJson, JSON.writeValueAsBytes(root));
    }

    private Path blobPathOf(String digest) {
      return layout.resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
    }
  }

  private static ObjectNode descriptor(ObjectNode node, Blob blob) {
    return node.put("mediaType", blob.mediaType())
        .put("digest", blob.digest())
        .put("size", blob.size());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Gzip with deflate level 0: the payload is random, so compressing would only cost CPU. */
  private static final class FastGzip extends GZIPOutputStream {
    FastGzip(OutputStream out) throws IOException {
      super(out, 1 << 16);
      def.setLevel(Deflater.NO_COMPRESSION);
    }
  }

  private static final class CountingOutputStream extends java.io.FilterOutputStream {
    private long count;

    CountingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    long count() {
      return count;
    }
  }
}
