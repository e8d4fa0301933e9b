package dev.ociproxy.core.shared;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.s3.presigner.model.PresignedGetObjectRequest;

/**
 * {@link ObjectStore} on an S3-compatible API with the AWS SDK's client (its signing, retries and
 * XML), over the JDK's HTTP client so it brings no second Netty. Only this class names the SDK, and
 * it is loaded only when {@code storage.s3} is configured. Checksums are sent and checked only
 * where the API requires them: our own digests are the check, and S3-compatible stores differ in
 * which of the SDK's newer checksum headers they take.
 */
public final class S3ObjectStore implements ObjectStore {
  private static final Logger log = LoggerFactory.getLogger(S3ObjectStore.class);

  /** Files up to this size go up in one PUT; bigger ones in parts of this size. */
  static final long PART_SIZE = 16L << 20;

  private final S3Client s3;
  private final S3Options options;

  /** With {@code redirect: true} only: the same endpoint, region, addressing and credentials. */
  private final @Nullable S3Presigner presigner;

  private final AtomicBoolean presignFailureLogged = new AtomicBoolean();

  public S3ObjectStore(S3Options options) {
    this.options = options;
    AwsCredentialsProvider credentials = credentials(options);
    var builder =
        S3Client.builder()
            .region(Region.of(options.region()))
            .credentialsProvider(credentials)
            .httpClientBuilder(
                UrlConnectionHttpClient.builder()
                    .connectionTimeout(Duration.ofSeconds(5))
                    .socketTimeout(Duration.ofSeconds(30)))
            .serviceConfiguration(
                S3Configuration.builder().pathStyleAccessEnabled(options.pathStyle()).build())
            .requestChecksumCalculation(
                software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(
                software.amazon.awssdk.core.checksums.ResponseChecksumValidation.WHEN_REQUIRED);
    if (options.endpoint() != null) {
      builder.endpointOverride(options.endpoint());
    }
    this.s3 = builder.build();
    this.presigner = options.redirect() ? presigner(options, credentials) : null;
  }

  private static S3Presigner presigner(S3Options o, AwsCredentialsProvider credentials) {
    var builder =
        S3Presigner.builder()
            .region(Region.of(o.region()))
            .credentialsProvider(credentials)
            .serviceConfiguration(
                S3Configuration.builder().pathStyleAccessEnabled(o.pathStyle()).build());
    if (o.endpoint() != null) {
      builder.endpointOverride(o.endpoint());
    }
    return builder.build();
  }

  private static AwsCredentialsProvider credentials(S3Options o) {
    String access = o.accessKey();
    String secret = o.secretKey();
    return access != null && secret != null
        ? StaticCredentialsProvider.create(AwsBasicCredentials.create(access, secret))
        : DefaultCredentialsProvider.builder().build();
  }

  private String full(String key) {
    return options.prefix() + key;
  }

  /**
   * A SigV4 query-signed GET of the object: the URL carries the access key id, the signature and
   * (with temporary credentials) the session token, never the secret key, and is valid for that one
   * object until it expires. Null when redirects are off or presigning fails (logged once): the
   * caller then serves the bytes itself.
   */
  @Override
  public boolean presigns() {
    return presigner != null;
  }

  @Override
  public @Nullable URI presignedGet(String key, Duration expiry) {
    S3Presigner p = presigner;
    if (p == null) {
      return null;
    }
    try {
      PresignedGetObjectRequest r =
          p.presignGetObject(
              b ->
                  b.signatureDuration(expiry)
                      .getObjectRequest(g -> g.bucket(options.bucket()).key(full(key))));
      if (!r.isBrowserExecutable()) {
        // It would need headers signed along that a client following a redirect never sends.
        throw new IllegalStateException("signed headers " + r.signedHeaders().keySet());
      }
      return r.url().toURI();
    } catch (SdkException | IllegalStateException | URISyntaxException e) {
      if (presignFailureLogged.compareAndSet(false, true)) {
        log.warn(
            "storage.s3.redirect: cannot presign a GET of {} ({}); blobs are served directly",
            describe(key),
            e.toString());
      }
      return null;
    }
  }

  @Override
  public String describe(String key) {
    return "s3://" + options.bucket() + "/" + full(key);
  }

  @Override
  public long size(String key) throws IOException {
    try {
      return s3.headObject(b -> b.bucket(options.bucket()).key(full(key))).contentLength();
    } catch (NoSuchKeyException e) {
      return -1;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return -1;
      }
      throw failed("HEAD", key, e);
    } catch (SdkException e) {
      throw failed("HEAD", key, e);
    }
  }

  @Override
  public @Nullable InputStream open(String key) throws IOException {
    try {
      ResponseInputStream<GetObjectResponse> in =
          s3.getObject(b -> b.bucket(options.bucket()).key(full(key)));
      return in;
    } catch (NoSuchKeyException e) {
      return null;
    } catch (SdkException e) {
      throw failed("GET", key, e);
    }
  }

  @Override
  public byte @Nullable [] read(String key, int max) throws IOException {
    try (InputStream in = open(key)) {
      if (in == null) {
        return null;
      }
      byte[] body = in.readNBytes(max + 1);
      if (body.length > max) {
        throw new IOException(describe(key) + " is larger than " + max + " bytes");
      }
      return body;
    } catch (UncheckedIOException | SdkException e) {
      throw failed("GET", key, e);
    }
  }

  @Override
  public void write(String key, byte[] body) throws IOException {
    try {
      s3.putObject(b -> b.bucket(options.bucket()).key(full(key)), RequestBody.fromBytes(body));
    } catch (SdkException e) {
      throw failed("PUT", key, e);
    }
  }

  @Override
  public void upload(String key, Path file) throws IOException {
    long size = Files.size(file);
    try {
      if (size <= PART_SIZE) {
        s3.putObject(b -> b.bucket(options.bucket()).key(full(key)), RequestBody.fromFile(file));
      } else {
        uploadInParts(key, file, size);
      }
    } catch (SdkException e) {
      throw failed("upload of", key, e);
    }
  }

  /** Multipart uploads begun and neither completed nor aborted (for tests and operators). */
  int pendingUploads() {
    return s3.listMultipartUploads(b -> b.bucket(options.bucket())).uploads().size();
  }

  /** Uploads {@code size} bytes of {@code file} in parts (package-private: tests shorten it). */
  void uploadInParts(String key, Path file, long size) throws IOException {
    String id = s3.createMultipartUpload(b -> b.bucket(options.bucket()).key(full(key))).uploadId();
    boolean completed = false;
    try {
      List<CompletedPart> parts = new ArrayList<>();
      for (int n = 1; (long) (n - 1) * PART_SIZE < size; n++) {
        long offset = (n - 1) * PART_SIZE;
        long length = Math.min(PART_SIZE, size - offset);
        int number = n;
        String etag =
            s3.uploadPart(
                    b ->
                        b.bucket(options.bucket())
                            .key(full(key))
                            .uploadId(id)
                            .partNumber(number)
                            .contentLength(length),
                    RequestBody.fromContentProvider(
                        slice(file, offset, length), length, "application/octet-stream"))
                .eTag();
        parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
      }
      s3.completeMultipartUpload(
          b ->
              b.bucket(options.bucket())
                  .key(full(key))
                  .uploadId(id)
                  .multipartUpload(m -> m.parts(parts)));
      completed = true;
    } finally {
      if (!completed) {
        try {
          s3.abortMultipartUpload(b -> b.bucket(options.bucket()).key(full(key)).uploadId(id));
        } catch (SdkException e) {
          // The bucket's lifecycle rule for incomplete uploads removes it (README, Retention).
        }
      }
    }
  }

  /** A part of the file, re-readable (the SDK reads it again to sign or to retry). */
  private static ContentStreamProvider slice(Path file, long offset, long length) {
    return () -> {
      try {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        ch.position(offset);
        return new BoundedInputStream(Channels.newInputStream(ch), length);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
  }

  @Override
  public List<Listed> list(String prefix) throws IOException {
    List<Listed> out = new ArrayList<>();
    try {
      for (S3Object o :
          s3.listObjectsV2Paginator(b -> b.bucket(options.bucket()).prefix(full(prefix)))
              .contents()) {
        out.add(
            new Listed(o.key().substring(options.prefix().length()), o.size(), o.lastModified()));
      }
    } catch (SdkException e) {
      throw failed("LIST", prefix, e);
    }
    return out;
  }

  @Override
  public void delete(String key) throws IOException {
    try {
      s3.deleteObject(b -> b.bucket(options.bucket()).key(full(key)));
    } catch (SdkException e) {
      throw failed("DELETE", key, e);
    }
  }

  @Override
  public void check() throws IOException {
    try {
      s3.headBucket(b -> b.bucket(options.bucket()));
    } catch (SdkException e) {
      throw new IOException("storage.s3: bucket " + options.bucket() + ": " + e.getMessage(), e);
    }
  }

  private IOException failed(String op, String key, Exception e) {
    return new IOException(op + " " + describe(key) + ": " + e.getMessage(), e);
  }

  @Override
  public void close() {
    s3.close();
    if (presigner != null) {
      presigner.close();
    }
  }
}
