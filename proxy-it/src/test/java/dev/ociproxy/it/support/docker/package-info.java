/**
 * Runs the container image checks of docker/ (the shell scripts stay the single implementation, so
 * they can be run by hand and from {@code mvn verify} alike).
 */
package dev.ociproxy.it.support.docker;
