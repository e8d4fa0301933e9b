package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The configuration files we ship are what the README tells people to run: they must load. */
class ShippedConfigsTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  private static ProxyConfig load(Path p) {
    return new ConfigLoader(Map.of("XDG_CACHE_HOME", "/tmp")::get).load(p);
  }

  @Test
  void sampleConfigWithEveryKeyLoadsAsTheReadmeDefault() {
    ProxyConfig c = load(ROOT.resolve("config/proxy.yaml"));
    assertThat(c.listen().getPort()).isEqualTo(5000);
    assertThat(c.upstreams())
        .singleElement()
        .satisfies(
            u -> {
              assertThat(u.name()).isEqualTo("docker.io");
              assertThat(u.isDefault()).isTrue();
            });
  }

  @Test
  void benchmarkStartsTheProxyWithTheReadmeStartCommandsJvmFlags() throws Exception {
    java.util.regex.Matcher readme =
        java.util.regex.Pattern.compile(
                "java ((?:-\\S+ )*)-jar proxy-server/target/registry-proxy\\.jar --config config/proxy\\.yaml")
            .matcher(Files.readString(ROOT.resolve("README.md")));
    java.util.regex.Matcher bench =
        java.util.regex.Pattern.compile("(?m)^README_JAVA_OPTS = \"([^\"]*)\"$")
            .matcher(Files.readString(ROOT.resolve("benchmark/bench.py")));

    assertThat(readme.find()).as("the README's start command").isTrue();
    assertThat(bench.find()).as("README_JAVA_OPTS in benchmark/bench.py").isTrue();
    assertThat(bench.group(1)).isEqualTo(readme.group(1).trim()).isNotEmpty();
  }

  @Test
  void containerImageConfigLoads() {
    Path docker = ROOT.resolve("docker/proxy.yaml");
    assertThat(docker).exists();
    assertThat(load(docker).upstreams()).isNotEmpty();
  }

  @Test
  void sampleConfigStillLoadsWithItsOptionalTopLevelKeysSwitchedOn(
      @org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path pins = Files.writeString(tmp.resolve("pins.yaml"), "{}\n");
    String text =
        Files.readString(ROOT.resolve("config/proxy.yaml"))
            .replaceAll("(?m)^# (offline|policy|warmInterval): ", "$1: ")
            .replaceAll("(?m)^# pins: .*$", "pins: \"" + pins + "\"")
            .replaceAll(
                "(?m)^    # (offline|policy|tagTtl|connectTimeout|readTimeout|firstByteTimeout|manifestTimeout"
                    + "|maxConcurrentRequests|requestsPerSecond): ",
                "    $1: ")
            .replaceAll("(?m)^    # (freshness:$|  - pattern: |    freshness: )", "    $1");
    ProxyConfig c = new ConfigLoader(Map.of("XDG_CACHE_HOME", "/tmp")::get).parse(text);
    assertThat(c.upstreams()).hasSize(1);
    assertThat(c.upstreams().get(0).requestLimits().maxConcurrentRequests()).isEqualTo(16);
    assertThat(c.upstreams().get(0).mirror().freshness()).hasSize(2);
  }

  /** Every ConfigMap's proxy.yaml in docker/k8s, with the environment its pod gives it. */
  @Test
  void everyKubernetesExampleConfigLoadsWithItsPodsEnvironment() throws Exception {
    Map<String, String> podEnv =
        Map.of(
            "POD_IP", "10.0.0.5",
            "S3_ACCESS_KEY", "access",
            "S3_SECRET_KEY", "secret",
            "CLUSTER_SECRET", "0123456789abcdef0123456789abcdef");
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    List<Path> files;
    try (Stream<Path> s = Files.list(ROOT.resolve("docker/k8s"))) {
      files = s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(files).isNotEmpty();
    int configs = 0;
    for (Path f : files) {
      try (MappingIterator<JsonNode> docs = yaml.readerFor(JsonNode.class).readValues(f.toFile())) {
        for (JsonNode doc : docs.readAll()) {
          if (doc.path("kind").asText().equals("ConfigMap")) {
            String text = doc.path("data").path("proxy.yaml").asText();
            assertThat(text).as(f + " ConfigMap proxy.yaml").isNotBlank();
            ProxyConfig c = new ConfigLoader(podEnv::get).parse(text);
            assertThat(c.upstreams()).as(f.toString()).isNotEmpty();
            configs++;
          }
        }
      }
    }
    assertThat(configs).isGreaterThanOrEqualTo(files.size());
  }
}
