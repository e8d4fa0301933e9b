#!/usr/bin/env python3
"""The long run (issue 22): our proxy under a bounded, steady mix for a fixed time on loopback,
sampling what would grow if something leaked.

The mix, all at once and at fixed rates (never as fast as possible: the point is hours of the same
load, not a peak):
- cold blob pulls: each of a pool of fresh 1-4 MiB blobs is pulled once, in order; a few 32 MiB
  ones among them;
- warm blob pulls and warm many-layer image pulls (skopeo) of what is already cached;
- manifest traffic by tag and by digest on keep-alive connections;
- clients that read part of a blob and hang up (cold and warm);
- the upstream is stopped for a while, once, in the middle (cached content keeps flowing, cold
  pulls fail with 5xx as they should), then started again on the same storage.

Every few seconds it samples the proxy's RSS (anonymous and file-backed), the heap after the last
GC and the heap committed then (from -Xlog:gc), direct memory
(jvm_buffer_memory_used_bytes{id="direct"}), Netty's pooled and unpooled direct memory, open file
descriptors, threads, and the files and bytes in the cache's tmp/ directory. It writes every
sample as CSV and prints a summary: each series after warm-up (first sample after the warm-up,
last sample, max), and every error by kind, with whether the load caused it (a failed cold pull
while the upstream was down is expected; anything else is not). It asserts nothing and does not
run in CI.

    mvn -q package -DskipTests
    benchmark/soak.py --minutes 30 --csv /tmp/soak.csv

With --nmt-at it also takes Native Memory Tracking snapshots (a baseline, then diffs against it)
and prints the categories that moved:

    benchmark/soak.py --java-opts='-Xms32m -Xmx512m -XX:NativeMemoryTracking=summary' \
        --nmt-at 150 890 1000 1100 1740
"""
import argparse
import collections
import csv
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import servers
from images import Layout, MIB, _ref_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_JAR = os.path.join(ROOT, "proxy-server", "target", "registry-proxy.jar")
ACCEPT = ("application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json, "
          "application/vnd.docker.distribution.manifest.list.v2+json")
METRICS = {
    "direct_mib": re.compile(r'^jvm_buffer_memory_used_bytes\{[^}]*id="direct"[^}]*\} (\S+)', re.M),
    "netty_direct_mib": re.compile(
        r'^netty_allocator_memory_used(?:_bytes)?\{[^}]*memory_type="direct"[^}]*\} (\S+)', re.M),
}
_T0 = time.monotonic()
BACKOFF_SECONDS = 65  # UpstreamHealth.MAX_BACKOFF_MILLIS and a margin


def log(msg):
    print(f"[{time.monotonic() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


class Soak:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.stop = threading.Event()
        self.upstream_down = threading.Event()
        self.errors = collections.Counter()      # (kind, expected?) -> count
        self.counts = collections.Counter()      # kind -> successful operations
        self.lock = threading.Lock()
        self.error_times = []                    # (seconds into the run, kind, error)
        self.upstream_back_at = float("-inf")

    # --- set-up ------------------------------------------------------------------------------
    def prepare(self):
        a = self.args
        self.upstream = servers.Upstream(self.work)
        self.upstream.start()
        layout = Layout(os.path.join(self.work, "layout"))
        # Enough fresh blobs for one cold pull every cold_interval seconds for the whole run.
        n_cold = int(a.minutes * 60 * 1.25 / a.cold_interval) + 8  # plus the hang-ups' quarter
        log(f"generating {n_cold} cold blobs, a warm 64-layer image and a 64 MiB warm blob")
        self.cold = []
        per_image = 64
        pushes = []
        for i in range(0, n_cold, per_image):
            layers = []
            for j in range(min(per_image, n_cold - i)):
                size = 32 * MIB if (i + j) % 40 == 39 else random.choice([1, 2, 3, 4]) * MIB
                layers.append(layout.random_layer(size, f"c{j}.bin"))
            layout.image(_ref_name("soak/cold", f"p{i}"), layers)
            pushes.append(("soak/cold", f"p{i}"))
            self.cold += [("soak/cold", l["digest"], l["size"]) for l in layers]
        sizes_kib = [4, 16, 64, 256]
        small = [layout.random_layer(sizes_kib[j % 4] * 1024, f"f{j}.bin") for j in range(64)]
        m = layout.image(_ref_name("soak/small", "v1"), small)
        self.small_digest = m["digest"]
        pushes.append(("soak/small", "v1"))
        big = layout.random_layer(64 * MIB)
        layout.image(_ref_name("soak/big", "v1"), [big])
        self.big = ("soak/big", big["digest"], big["size"])
        pushes.append(("soak/big", "v1"))
        layout.close()
        log(f"pushing {len(pushes)} tags with skopeo")
        for repo, tag in pushes:
            subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--preserve-digests",
                            f"oci:{layout.root}:{_ref_name(repo, tag)}",
                            f"docker://{self.upstream.host}/{repo}:{tag}"],
                           check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(layout.root)
        # The GC log gives the heap after every collection, which is what grows when something leaks.
        self.gc_log = os.path.join(self.work, "gc.log")
        java_opts = a.java_opts.split() + [f"-Xlog:gc:file={self.gc_log}"]
        self.proxy = servers.OurProxy(self.work, self.upstream, a.jar, java_opts, "WARN",
                                      {"maxSize": f'"{a.cache_max_mib}MiB"'})
        self.proxy.start()
        log(f"proxy on {self.proxy.host} (pid {self.proxy.proc.pid}), upstream on {self.upstream.host}")
        # Fill the warm set.
        self._get(self.proxy.blob_url(*self.big[:2]), self.big[2])
        self._skopeo("soak/small")

    # --- the load ----------------------------------------------------------------------------
    def _get(self, url, expected_size=None, read_limit=None):
        """One GET on a new connection; returns bytes read. read_limit: hang up after that many."""
        host, path = url.split("//", 1)[1].split("/", 1)
        h, p = host.split(":")
        conn = http.client.HTTPConnection(h, int(p), timeout=60)
        try:
            conn.request("GET", "/" + path, headers={"Accept": ACCEPT})
            resp = conn.getresponse()
            if resp.status != 200:
                raise IOError(f"HTTP {resp.status}")
            got = 0
            while True:
                chunk = resp.read(65536)
                if not chunk:
                    break
                got += len(chunk)
                if read_limit is not None and got >= read_limit:
                    return got  # the hang-up: close with the rest unread
            if expected_size is not None and got != expected_size:
                raise IOError(f"short body {got} of {expected_size}")
            return got
        finally:
            conn.close()

    def _skopeo(self, repo):
        dest = tempfile.mkdtemp(prefix="soak-pull-", dir="/dev/shm")
        try:
            subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false",
                            self.proxy.image_ref(repo, "v1"), f"dir:{dest}"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        except subprocess.CalledProcessError as e:
            raise IOError(e.stderr.decode(errors="replace").strip()[-200:])
        finally:
            shutil.rmtree(dest, ignore_errors=True)

    def _loop(self, kind, interval, op, expected_when_down=False):
        while not self.stop.wait(interval):
            down = self._upstream_out()
            try:
                op()
                with self.lock:
                    self.counts[kind] += 1
            except (IOError, OSError, http.client.HTTPException, subprocess.TimeoutExpired) as e:
                expected = expected_when_down and (down or self._upstream_out())
                with self.lock:
                    self.errors[(kind, expected, str(e)[:120])] += 1
                    self.error_times.append((round(time.monotonic() - self.t_start, 1), kind, str(e)[:60]))

    def _upstream_out(self):
        """Down, or back for less than the proxy's longest back-off (60 s after the last failure,
        UpstreamHealth): a cold pull then fails fast with 503, as documented."""
        return self.upstream_down.is_set() or time.monotonic() - self.upstream_back_at < BACKOFF_SECONDS

    def _next_cold(self):
        with self.lock:
            self.cold_next += 1
            return self.cold[self.cold_next - 1]

    def _cold_op(self):
        repo, digest, size = self._next_cold()
        self._get(self.proxy.blob_url(repo, digest), size)

    def _cold_hangup_op(self):
        repo, digest, size = self._next_cold()
        self._get(self.proxy.blob_url(repo, digest), size, read_limit=256 * 1024)

    def _manifest_op(self):
        h, p = self.proxy.host.split(":")
        conn = http.client.HTTPConnection(h, int(p), timeout=30)
        try:
            for ref in ["v1", self.small_digest] * 10:  # keep-alive: 20 requests per connection
                conn.request("GET", f"{self.proxy.path('soak/small')}/manifests/{ref}", headers={"Accept": ACCEPT})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise IOError(f"manifest HTTP {resp.status}")
        finally:
            conn.close()

    def _upstream_restart(self):
        at = self.args.minutes * 60 * 0.5
        if self.stop.wait(at):
            return
        log("stopping the upstream")
        self.upstream_down.set()
        self.upstream.stop()
        if self.stop.wait(60):
            return
        self.upstream.start()
        self.upstream_back_at = time.monotonic()
        self.upstream_down.clear()
        log("upstream started again")

    # --- native memory tracking -------------------------------------------------------------
    def _nmt_snapshots(self):
        """jcmd VM.native_memory at the --nmt-at seconds: a baseline at the first, a summary.diff
        against it at each later one, saved as PREFIX-T.txt (needs -XX:NativeMemoryTracking=summary)."""
        self.nmt = []  # (seconds, RSS MiB, {category: committed KiB delta})
        for i, at in enumerate(sorted(self.args.nmt_at)):
            if self.stop.wait(max(0.0, self.t_start + at - time.monotonic())):
                return
            what = "baseline" if i == 0 else "summary.diff"
            out = subprocess.run(["jcmd", str(self.proxy.proc.pid), "VM.native_memory", what],
                                 capture_output=True, text=True, timeout=60).stdout
            t = round(time.monotonic() - self.t_start)
            with open(f"{self.args.nmt_out}-{t}.txt", "w") as f:
                f.write(out)
            rss = self.sample()["rss_mib"]
            if i == 0:
                self.nmt_rss0 = rss
            else:
                self.nmt.append((t, rss - self.nmt_rss0, _nmt_deltas(out)))
            log(f"NMT {what} at {t} s saved to {self.args.nmt_out}-{t}.txt")

    # --- samples -----------------------------------------------------------------------------
    def sample(self):
        pid = self.proxy.proc.pid
        s = {"t": round(time.monotonic() - self.t_start, 1)}
        with open(f"/proc/{pid}/status") as f:
            st = dict(line.split(":", 1) for line in f if ":" in line)
        s["rss_mib"] = int(st["VmRSS"].split()[0]) / 1024
        # Anonymous (heap, malloc, thread stacks, code cache) against file-backed (libjvm, the CDS
        # archive): a step in the first is ours or the allocator's, in the second only mapping.
        s["rss_anon_mib"] = int(st["RssAnon"].split()[0]) / 1024
        s["rss_file_mib"] = int(st["RssFile"].split()[0]) / 1024
        s["threads"] = int(st["Threads"])
        s["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        tmp = os.path.join(self.proxy.cache, "tmp")
        names = os.listdir(tmp) if os.path.isdir(tmp) else []
        s["tmp_files"] = len(names)
        s["tmp_mib"] = sum(_size(os.path.join(tmp, n)) for n in names) / MIB
        after_gc = _last_heap_after_gc(self.gc_log)
        if after_gc is not None:
            s["heap_after_gc_mib"], s["heap_committed_mib"] = after_gc
        try:
            text = _http_text(self.proxy.host, "/metrics")
            for key, rx in METRICS.items():
                s[key] = sum(float(v) for v in rx.findall(text)) / MIB
        except OSError:
            pass
        return s

    def run(self):
        a = self.args
        self.cold_next = 0
        self.t_start = time.monotonic()
        threads = [
            threading.Thread(target=self._loop, args=("cold blob", a.cold_interval, self._cold_op, True)),
            threading.Thread(target=self._loop, args=("cold blob, hang-up", a.cold_interval * 4,
                                                      self._cold_hangup_op, True)),
            threading.Thread(target=self._loop, args=("warm blob 64 MiB", 2.0,
                                                      lambda: self._get(self.proxy.blob_url(*self.big[:2]), self.big[2]))),
            threading.Thread(target=self._loop, args=("warm blob, hang-up", 3.0,
                                                      lambda: self._get(self.proxy.blob_url(*self.big[:2]), None, 1 * MIB))),
            threading.Thread(target=self._loop, args=("warm 64-layer image (skopeo)", 10.0,
                                                      lambda: self._skopeo("soak/small"))),
            threading.Thread(target=self._loop, args=("manifests x20", 0.2, self._manifest_op)),
            threading.Thread(target=self._upstream_restart),
        ]
        if a.nmt_at:
            threads.append(threading.Thread(target=self._nmt_snapshots))
        for t in threads:
            t.daemon = True
            t.start()
        samples = []
        deadline = self.t_start + a.minutes * 60
        while time.monotonic() < deadline and self.cold_next < len(self.cold) - 2:
            samples.append(self.sample())
            if len(samples) % 12 == 0:
                last = samples[-1]
                log(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items()))
            time.sleep(a.sample_seconds)
        self.stop.set()
        for t in threads:
            t.join(timeout=130)
        time.sleep(3)  # downloads the hang-ups abandoned finish or end
        samples.append(self.sample())
        return samples


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


_GC_LINE = re.compile(r"Pause .*?(\d+)M->(\d+)M\((\d+)M\)")


def _last_heap_after_gc(path):
    """The heap after the last collection and the heap committed then, from -Xlog:gc lines like
    'Pause Young ... 45M->12M(64M)'."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 8192))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        m = _GC_LINE.search(line)
        if m:
            return float(m.group(2)), float(m.group(3))
    return None


_NMT_LINE = re.compile(r"^(?:-\s+(.+?) \(|(Total): )reserved=\d+KB(?: [+-]\d+KB)?, "
                       r"committed=\d+KB(?: ([+-]\d+)KB)?", re.M)


def _nmt_deltas(text):
    """Committed KiB since the baseline per NMT category (and Total), from a summary.diff."""
    return {(m.group(1) or m.group(2)): int(m.group(3) or 0) for m in _NMT_LINE.finditer(text)}


def _http_text(host, path):
    h, p = host.split(":")
    conn = http.client.HTTPConnection(h, int(p), timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def summary(samples, warmup_seconds, soak):
    after = [s for s in samples if s["t"] >= warmup_seconds] or samples
    keys = [k for k in samples[-1] if k != "t"]
    print(f"\n{len(samples)} samples over {samples[-1]['t'] / 60:.1f} min; warm-up {warmup_seconds} s excluded\n")
    print("| series | after warm-up | at the end | max after warm-up |")
    print("|---|---|---|---|")
    for k in keys:
        vals = [s[k] for s in after if k in s]
        if vals:
            fmt = (lambda v: f"{v:.1f}") if isinstance(vals[0], float) else str
            print(f"| {k} | {fmt(vals[0])} | {fmt(vals[-1])} | {fmt(max(vals))} |")
    print("\n| operation | succeeded |")
    print("|---|---|")
    for kind, n in sorted(soak.counts.items()):
        print(f"| {kind} | {n} |")
    if getattr(soak, "nmt", None):
        cats = [c for c in soak.nmt[-1][2] if c == "Total" or any(abs(d[2].get(c, 0)) >= 512 for d in soak.nmt)]
        print(f"\nNMT, committed KiB since the baseline at {sorted(soak.args.nmt_at)[0]:.0f} s "
              "(categories that moved 512 KiB or more), and RSS:\n")
        print("| category | " + " | ".join(f"{t} s" for t, _, _ in soak.nmt) + " |")
        print("|---|" + "---|" * len(soak.nmt))
        for c in cats:
            print(f"| {c} | " + " | ".join(f"{d.get(c, 0):+d}" for _, _, d in soak.nmt) + " |")
        print("| RSS | " + " | ".join(f"{r * 1024:+.0f}" for _, r, _ in soak.nmt) + " |")
    if soak.errors:
        print("\n| operation | expected (upstream down or the proxy's back-off after it) | count | error |")
        print("|---|---|---|---|")
        for (kind, expected, msg), n in sorted(soak.errors.items()):
            print(f"| {kind} | {'yes' if expected else 'NO'} | {n} | {msg} |")
        print("\nerrors at (s into the run): " + ", ".join(f"{t} {k}" for t, k, _ in soak.error_times))
    else:
        print("\nno errors")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--jar", default=DEFAULT_JAR)
    p.add_argument("--java-opts", default="-Xms32m -Xmx512m")
    p.add_argument("--cold-interval", type=float, default=4.0, help="seconds between cold blob pulls")
    p.add_argument("--sample-seconds", type=float, default=5.0)
    p.add_argument("--warmup-seconds", type=float, default=120)
    p.add_argument("--cache-max-mib", type=int, default=1024,
                   help="cache.maxSize, small enough that eviction runs during the soak")
    p.add_argument("--csv", help="write every sample here")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--nmt-at", type=float, nargs="+", metavar="SECONDS",
                   help="with -XX:NativeMemoryTracking=summary in --java-opts: jcmd VM.native_memory "
                        "baseline at the first of these seconds into the run, summary.diff at the others")
    p.add_argument("--nmt-out", default="/tmp/soak-nmt", help="prefix of the saved jcmd outputs")
    args = p.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    work = tempfile.mkdtemp(prefix="ociproxy-soak-", dir="/tmp")
    log(f"work directory {work}")
    try:
        soak = Soak(args, work)
        soak.prepare()
        samples = soak.run()
    finally:
        servers.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(samples[-1].keys()))
            w.writeheader()
            w.writerows(samples)
    summary(samples, args.warmup_seconds, soak)


if __name__ == "__main__":
    main(sys.argv[1:])
