package dev.ociproxy.core.registry;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Tag;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How long a verified tag mapping is served without asking the upstream, by tag pattern: the
 * operator's rules first, then {@link #DEFAULT_RULES}, then the upstream's {@code tagTtl}. The
 * first rule whose pattern matches the whole tag decides. Thread-safe (immutable).
 */
public final class Freshness {
  /** Never revalidated once verified: tags treated as immutable. */
  public static final Duration NEVER = Duration.ofMillis(Long.MAX_VALUE);

  /** Revalidated (with an upstream HEAD) on every request. */
  public static final Duration ALWAYS = Duration.ZERO;

  /**
   * Signature, attestation and referrers-fallback tags ({@code sha256-<hex>[.sig|.att|…]}) move
   * when someone signs or attests, so they are trusted only briefly; full semantic versions are
   * meant to be immutable but Docker's official images rebuild them for base-image fixes, so they
   * are asked about once a day rather than never (a HEAD, which Docker Hub does not count).
   */
  public static final List<Rule> DEFAULT_RULES =
      List.of(
          Rule.of("sha256-*", Duration.ofMinutes(1)),
          Rule.of("/v?[0-9]+\\.[0-9]+\\.[0-9]+/", Duration.ofHours(24)));

  private final List<Rule> rules;
  private final Duration fallback;

  public Freshness(List<Rule> operatorRules, Duration fallback) {
    List<Rule> all = new ArrayList<>(requireNonNull(operatorRules, "operatorRules"));
    all.addAll(DEFAULT_RULES);
    this.rules = List.copyOf(all);
    this.fallback = requireNonNull(fallback, "fallback");
  }

  /** How long a verified mapping of {@code tag} stays fresh. */
  public Duration of(Tag tag) {
    for (Rule r : rules) { // per request: a loop, not a stream
      if (r.matches(tag.value())) {
        return r.freshness();
      }
    }
    return fallback;
  }

  /** True while a mapping of {@code tag} verified at {@code verifiedAtMillis} needs no upstream. */
  boolean isFresh(Tag tag, long verifiedAtMillis) {
    Duration d = of(tag);
    return d.equals(NEVER)
        || (!d.isZero() && System.currentTimeMillis() - verifiedAtMillis < d.toMillis());
  }

  /**
   * One rule: a glob ({@code *} any run of characters, {@code ?} one) or, between slashes, a Java
   * regular expression; either must match the whole tag.
   */
  public static final class Rule {
    private final String pattern;
    private final Pattern compiled;
    private final Duration freshness;

    private Rule(String pattern, Pattern compiled, Duration freshness) {
      this.pattern = pattern;
      this.compiled = compiled;
      this.freshness = freshness;
    }

    /**
     * A rule for tags matching {@code pattern}.
     *
     * @throws IllegalArgumentException naming what is wrong with {@code pattern}
     */
    public static Rule of(String pattern, Duration freshness) {
      requireNonNull(pattern, "pattern");
      requireNonNull(freshness, "freshness");
      if (freshness.isNegative()) {
        throw new IllegalArgumentException("freshness: " + freshness + " (expected: >= 0)");
      }
      if (pattern.isEmpty()) {
        throw new IllegalArgumentException("empty (expected: a glob such as v* or a /regex/)");
      }
      boolean regex = pattern.length() > 1 && pattern.startsWith("/") && pattern.endsWith("/");
      try {
        return new Rule(
            pattern,
            Pattern.compile(regex ? pattern.substring(1, pattern.length() - 1) : glob(pattern)),
            freshness);
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException(
            "'" + pattern + "' is not a regular expression: " + e.getDescription(), e);
      }
    }

    private static String glob(String g) {
      StringBuilder re = new StringBuilder();
      for (int i = 0; i < g.length(); i++) {
        char c = g.charAt(i);
        re.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
      }
      return re.toString();
    }

    boolean matches(String tag) {
      return compiled.matcher(tag).matches();
    }

    public String pattern() {
      return pattern;
    }

    public Duration freshness() {
      return freshness;
    }

    @Override
    public String toString() {
      return pattern
          + " -> "
          + (freshness.equals(NEVER) ? "never" : freshness.isZero() ? "always" : freshness);
    }
  }
}
