package dev.ociproxy.core.shared;

import java.net.URI;
import org.jspecify.annotations.Nullable;

/**
 * Where the shared store is ({@code storage.s3}).
 *
 * @param endpoint the S3 API's URL, or null for AWS
 * @param prefix prepended to every key: empty, or ending in '/'
 * @param pathStyle bucket in the path rather than the host name (MinIO, s3proxy, Ceph)
 * @param accessKey with {@code secretKey}, static credentials; both null: the SDK's default chain
 * @param redirect answer clients' whole GETs of blobs committed, verified, in the store with a
 *     redirect to a presigned URL of it ({@link BlobRedirects})
 * @param metadataSecret {@code storage.s3.secret}, or {@code cluster.secret} when that is omitted:
 *     what the bucket's metadata records are authenticated with ({@link RecordMac})
 */
public record S3Options(
    @Nullable URI endpoint,
    String region,
    String bucket,
    String prefix,
    boolean pathStyle,
    @Nullable String accessKey,
    @Nullable String secretKey,
    boolean redirect,
    String metadataSecret) {

  @Override
  public String toString() { // never a secret
    return "s3://"
        + bucket
        + "/"
        + prefix
        + (endpoint == null ? "" : " at " + endpoint)
        + (redirect ? ", blob GETs redirected to it" : "");
  }
}
