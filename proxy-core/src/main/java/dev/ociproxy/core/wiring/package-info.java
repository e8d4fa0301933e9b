/**
 * Where an upstream's stack is put together (transport, client, pull-through, meters, fetch limit,
 * air-gap composition), for the server, the commands and the tests alike. Depends on every other
 * core package; nothing in core depends on it.
 */
@NullMarked
package dev.ociproxy.core.wiring;

import org.jspecify.annotations.NullMarked;
