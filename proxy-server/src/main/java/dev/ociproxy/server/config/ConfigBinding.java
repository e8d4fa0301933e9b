package dev.ociproxy.server.config;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Binds YAML into {@link ConfigFile} with Jackson and turns every binding error into a {@link
 * ConfigException} naming the key by its path ({@code upstreams[1].url}).
 */
final class ConfigBinding {
  private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}");
  private static final String ENV = "env";
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .registerModule(
              new SimpleModule("proxy.yaml")
                  .addDeserializer(String.class, new Scalar<>(String.class, v -> v))
                  .addDeserializer(Boolean.class, new Scalar<>(Boolean.class, ConfigBinding::bool))
                  .addDeserializer(
                      Integer.class, new Scalar<>(Integer.class, ConfigBinding::positiveInt))
                  .addDeserializer(
                      Duration.class, new Scalar<>(Duration.class, ConfigBinding::duration))
                  .addDeserializer(
                      InetSocketAddress.class,
                      new Scalar<>(InetSocketAddress.class, ConfigBinding::address)));

  private ConfigBinding() {}

  static ConfigFile bind(String yaml, UnaryOperator<String> env) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new ConfigException(
          "(file)", "not valid YAML: " + e.getOriginalMessage().replace('\n', ' '));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      root = YAML.createObjectNode();
    } else if (!root.isObject()) {
      throw new ConfigException("(file)", "expected a mapping of keys at the top level");
    }
    try {
      return YAML.readerFor(ConfigFile.class).withAttribute(ENV, env).readValue(root);
    } catch (JsonMappingException e) {
      throw refusal(e);
    } catch (IOException e) {
      throw new ConfigException("(file)", e.getMessage());
    }
  }

  private static ConfigException refusal(JsonMappingException e) {
    String key = key(e.getPath());
    if (e instanceof UnrecognizedPropertyException u) {
      return new ConfigException(
          key, "unknown key (known here: " + keys(u.getReferringClass()) + ")");
    }
    if (e instanceof MismatchedInputException m && !(e instanceof Refused)) {
      Class<?> target = m.getTargetType();
      boolean mapping = target != null && (target.isRecord() || Map.class.isAssignableFrom(target));
      boolean list =
          target != null && (Collection.class.isAssignableFrom(target) || target.isArray());
      String what = description(e.getPath(), target);
      return new ConfigException(
          key,
          "expected "
              + (what != null
                  ? what
                  : mapping ? "a mapping of keys" : list ? "a list" : "a single value"));
    }
    return new ConfigException(key, e.getOriginalMessage());
  }

  private static String key(List<JsonMappingException.Reference> path) {
    StringBuilder key = new StringBuilder();
    for (JsonMappingException.Reference r : path) {
      if (r.getFieldName() != null) {
        key.append(key.isEmpty() ? "" : ".").append(r.getFieldName());
      } else {
        key.append('[').append(r.getIndex()).append(']');
      }
    }
    return key.isEmpty() ? "(file)" : key.toString();
  }

  /** The keys a section knows, in the order the file's documentation gives them. */
  private static String keys(Class<?> section) {
    return Arrays.stream(section.getRecordComponents())
        .map(ConfigBinding::jsonName)
        .collect(Collectors.joining(", "));
  }

  /** What the key at the end of {@code path} expects, when the file's schema says. */
  private static @Nullable String description(
      List<JsonMappingException.Reference> path, @Nullable Class<?> target) {
    if (target != null && target.isAnnotationPresent(JsonClassDescription.class)) {
      return target.getAnnotation(JsonClassDescription.class).value();
    }
    @Nullable Type at = ConfigFile.class;
    RecordComponent component = null;
    for (JsonMappingException.Reference r : path) {
      if (r.getFieldName() != null && at instanceof Class<?> c && c.isRecord()) {
        component =
            Arrays.stream(c.getRecordComponents())
                .filter(rc -> jsonName(rc).equals(r.getFieldName()))
                .findFirst()
                .orElse(null);
        at = component == null ? null : component.getGenericType();
      } else if (r.getFieldName() == null && at instanceof ParameterizedType list) {
        component = null;
        at = list.getActualTypeArguments()[0]; // a list's element
      } else {
        return null; // inside a mapping of names (auth.groups)
      }
    }
    JsonPropertyDescription d =
        component == null
            ? null
            : component.getAccessor().getAnnotation(JsonPropertyDescription.class);
    return d == null ? null : d.value();
  }

  /** Jackson's annotations reach a record component's accessor, not the component itself. */
  private static String jsonName(RecordComponent c) {
    JsonProperty p = c.getAccessor().getAnnotation(JsonProperty.class);
    return p != null ? p.value() : c.getName();
  }

  /** A value the file's own rules refuse (as opposed to one of the wrong shape). */
  private static final class Refused extends MismatchedInputException {
    private static final long serialVersionUID = 1L;

    Refused(JsonParser p, @Nullable String problem) {
      super(p, problem, (Class<?>) null);
    }
  }

  /**
   * A single value, with {@code ${VAR}} replaced from the environment before it is parsed; a list
   * or mapping where it belongs is the "expected a single value" error.
   */
  static class Scalar<T> extends StdScalarDeserializer<T> {
    private static final long serialVersionUID = 1L;
    private final transient Function<String, T> parse;

    Scalar(Class<T> type, Function<String, T> parse) {
      super(type);
      this.parse = parse;
    }

    @Override
    public @Nullable T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (!p.currentToken().isScalarValue()) {
        @SuppressWarnings("unchecked")
        T unexpected = (T) ctxt.handleUnexpectedToken(handledType(), p);
        return unexpected;
      }
      if (p.currentToken() == JsonToken.VALUE_NULL) {
        return null;
      }
      @SuppressWarnings("unchecked")
      UnaryOperator<String> env = (UnaryOperator<String>) ctxt.getAttribute(ENV);
      try {
        return parse.apply(substitute(p.getText(), env));
      } catch (IllegalArgumentException e) {
        throw new Refused(p, e.getMessage());
      }
    }
  }

  /** A size such as {@code 4MiB}, for the keys that say so. */
  static final class Size extends Scalar<Long> {
    private static final long serialVersionUID = 1L;

    Size() {
      super(Long.class, ConfigBinding::size);
    }
  }

  /** Replaces {@code ${VAR}} with the environment variable, refusing unset ones. */
  static String substitute(String v, UnaryOperator<String> env) {
    Matcher m = ENV_REF.matcher(v);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value = env.apply(m.group(1));
      if (value == null) {
        throw new IllegalArgumentException(
            "refers to ${" + m.group(1) + "}, which is not set in the environment");
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static Boolean bool(String v) {
    return switch (v.trim()) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException("'" + v + "' (expected true or false)");
    };
  }

  private static Integer positiveInt(String v) {
    try {
      int n = Integer.parseInt(v.trim());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through to the message
    }
    throw new IllegalArgumentException("'" + v + "' (expected a positive whole number)");
  }

  static InetSocketAddress address(String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("'" + value + "' (expected host:port, e.g. 0.0.0.0:5000)");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("'" + value + "' has no valid port (expected 0-65535)");
    }
    return new InetSocketAddress(host, port);
  }

  static Duration duration(String v) {
    Matcher m = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?").matcher(v.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "'" + v + "' (expected a duration such as 500ms, 30s, 5m, 1h)");
    }
    String unit = m.group(2) == null ? "s" : m.group(2);
    try {
      long n = Long.parseLong(m.group(1));
      return switch (unit) {
        case "ms" -> Duration.ofMillis(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        case "d" -> Duration.ofDays(n);
        default -> Duration.ofSeconds(n);
      };
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("'" + v + "' is too large");
    }
  }

  static long size(String v) {
    Matcher m = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?").matcher(v.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + v + "' (expected a size such as 4MiB or 50GiB)");
    }
    long mult =
        switch (m.group(2) == null ? "B" : m.group(2)) {
          case "KB" -> 1000L;
          case "KiB" -> 1L << 10;
          case "MB" -> 1000L * 1000;
          case "MiB" -> 1L << 20;
          case "GB" -> 1000L * 1000 * 1000;
          case "GiB" -> 1L << 30;
          case "TB" -> 1000L * 1000 * 1000 * 1000;
          case "TiB" -> 1L << 40;
          default -> 1L;
        };
    try {
      return Math.multiplyExact(Long.parseLong(m.group(1)), mult);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("'" + v + "' is too large");
    }
  }
}
