package dev.ociproxy.testing;

import java.net.URI;
import java.time.Duration;
import java.util.Properties;
import org.awaitility.Awaitility;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3 API on loopback for tests: s3proxy in this JVM over jclouds' in-memory store, with AWS
 * signature checking on ({@link #ACCESS_KEY}, {@link #SECRET_KEY}) and one empty bucket. {@link
 * #blobStore} reaches the same objects behind the API's back, as an operator with a shell on the
 * storage would (to tamper with them, to list them).
 */
public final class S3Server implements AutoCloseable {
  public static final String ACCESS_KEY = "test-access";
  public static final String SECRET_KEY = "test-secret-key-0123456789";
  public static final String REGION = "us-east-1";

  private final S3Proxy proxy;
  private final BlobStoreContext context;
  private final String bucket;

  private S3Server(S3Proxy proxy, BlobStoreContext context, String bucket) {
    this.proxy = proxy;
    this.context = context;
    this.bucket = bucket;
  }

  /**
   * The proxy's {@code storage:} section for {@code bucket} of this server reached at {@code
   * endpoint}: path-style, with this server's keys; {@code more} are further keys of {@code s3},
   * one {@code key: value} each.
   */
  public static String storageYaml(String endpoint, String bucket, String... more) {
    StringBuilder y =
        new StringBuilder("storage:\n  s3:\n")
            .append("    endpoint: \"")
            .append(endpoint)
            .append("\"\n")
            .append("    region: \"")
            .append(REGION)
            .append("\"\n")
            .append("    bucket: \"")
            .append(bucket)
            .append("\"\n")
            .append("    pathStyle: true\n")
            .append("    accessKey: \"")
            .append(ACCESS_KEY)
            .append("\"\n")
            .append("    secretKey: \"")
            .append(SECRET_KEY)
            .append("\"\n");
    for (String line : more) {
      y.append("    ").append(line).append('\n');
    }
    return y.toString();
  }

  /** Starts a server holding one empty {@code bucket}. */
  public static S3Server start(String bucket) {
    BlobStoreContext context =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .overrides(new Properties())
            .build(BlobStoreContext.class);
    context.getBlobStore().createContainerInLocation(null, bucket);
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(context.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .build();
    try {
      proxy.start();
      Awaitility.await("s3proxy to start")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> "STARTED".equals(proxy.getState()));
    } catch (Exception e) {
      context.close();
      throw new IllegalStateException("s3proxy: " + e, e);
    }
    return new S3Server(proxy, context, bucket);
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  public String bucket() {
    return bucket;
  }

  /** The objects behind the S3 API, for reading or changing them by hand. */
  public BlobStore blobStore() {
    return context.getBlobStore();
  }

  @Override
  public void close() {
    try {
      proxy.stop();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      context.close();
    }
  }
}
