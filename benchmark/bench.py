#!/usr/bin/env python3
"""The project's benchmark (issue 8): our proxy beside CNCF distribution's proxy, nginx proxy_cache
and the bare upstream, all on loopback, measured by curl, wrk and skopeo in one run.

It asserts nothing; it prints the median of each measurement and the ratios ours/distribution and
ours/nginx, and can write everything (every run, the machine, the settings) as JSON.

Cold measurements use blobs that no server has ever been asked for (one fresh 256 MiB blob per
repetition), and each proxy's cache directory is checked before the pull: if the blob is there,
the run is refused rather than reported as cold.
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

import measure
import report
import servers
from container import ContainerImage
from images import ImageSet
from shared import SharedPhase
from measure import MeasurementError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_JAR = os.path.join(ROOT, "proxy-server", "target", "registry-proxy.jar")
# The heap bounds the README's start command gives; the proxy is measured as it is told to be run.
README_JAVA_OPTS = "-XX:SharedArchiveFile=proxy-server/target/registry-proxy.jsa -Xms32m -Xmx512m -XX:TrimNativeHeapInterval=5000"
# Unrecorded wrk seconds per server and URL before the manifest rows: steady state, JIT compiled.
WRK_WARMUP_SECONDS = 3
_T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", metavar="FILE", help="also write every run and the medians as JSON")
    p.add_argument("--quick", action="store_true", help="3 repetitions and 3 s wrk runs instead of 5 and 5 s")
    p.add_argument("--runs", type=int, help="repetitions of each measurement (default 5, --quick 3)")
    p.add_argument("--wrk-seconds", type=int, help="duration of each wrk run (default 5, --quick 3)")
    p.add_argument("--blob-mib", type=int, default=256, help="size of the big layers (default 256)")
    p.add_argument("--small-layers", type=int, default=64, help="layers of the many-layer image (default 64)")
    p.add_argument("--servers", default="ours,distribution,nginx",
                   help="comma-separated proxies to run (default ours,distribution,nginx; direct always runs)")
    p.add_argument("--jar", default=DEFAULT_JAR, help="our proxy's jar (skipped with a note when missing)")
    p.add_argument("--java-opts", default=README_JAVA_OPTS,
                   help="JVM options for our proxy (default: the README's, %(default)s); write it with '=', "
                        "e.g. --java-opts='-Xmx256m -XX:+UseSerialGC'")
    p.add_argument("--java", default="java",
                   help="the java that runs our proxy (default: java on PATH), e.g. "
                        "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java")
    p.add_argument("--ours-config", default="",
                   help="top-level YAML appended to our proxy's config, e.g. --ours-config='startupWarmUp: 0s'")
    p.add_argument("--no-first-minute", action="store_true",
                   help="skip the first-minute rows (fresh servers started for them)")
    p.add_argument("--image", metavar="IMAGE",
                   help="also time our container image's first answer in the first-minute rows (docker run "
                        "--network host): an image the engine at DOCKER_HOST holds, or 'build' to make one from "
                        "the jar with docker/test-image.sh (in a private engine if none answers; needs root)")
    p.add_argument("--ours-log-level", default="WARN",
                   help="LOG_LEVEL for our proxy (default WARN: no access log, like the others; INFO logs each request)")
    p.add_argument("--shared-only", action="store_true",
                   help="only the shared-form rows (issue 18): replicas sharing a bucket on s3proxy, a cluster of 3")
    p.add_argument("--no-shared", action="store_true", help="skip the shared-form rows")
    p.add_argument("--s3proxy-classpath", metavar="CP",
                   help="a classpath with s3proxy 2.6.0 and its dependencies (default: proxy-core's test "
                        "classpath, from mvn -o dependency:build-classpath)")
    p.add_argument("--work-dir", default="/tmp", help="parent of the private work directory (default /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, caches) at the end")
    args = p.parse_args(argv)
    if args.shared_only and args.no_shared:
        p.error("--shared-only and --no-shared exclude each other")
    args.runs = args.runs or (3 if args.quick else 5)
    args.wrk_seconds = args.wrk_seconds or (3 if args.quick else 5)
    args.servers = [s for s in args.servers.split(",") if s]
    return args


def main(argv):
    args = parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    work = tempfile.mkdtemp(prefix="ociproxy-bench-", dir=args.work_dir)
    log(f"work directory {work}")
    try:
        results, machine, settings = Benchmark(args, work).run()
    finally:
        servers.stop_all()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"Machine: {machine['cores']} cores {machine['cpu']}, {machine['memory_gib']} GiB, "
          f"{machine['os']}, kernel {machine['kernel']}; 1-min load average "
          f"{machine['loadavg_1m_start']:.1f} at start, {machine['loadavg_1m_end']:.1f} at end")
    print(f"Settings: {settings['runs']} runs (medians shown), {settings['blob_mib']} MiB blobs, "
          f"wrk {settings['wrk_seconds']} s x 32 connections, MB = 10^6 bytes")
    print()
    print(results.table())
    for server, reason in results.skipped.items():
        print(f"\n{server}: skipped ({reason})")
    print("\n(k/n): only k of n runs gave a value; the notes say why. Ratios are ours/other "
          "whatever the direction; 'best' says which way is better.")
    if results.notes:
        print("\nNotes:")
        for n in results.notes:
            print(f"- {n}")
    if args.json:
        report.write_json(args.json, results.as_dict(machine, settings))
        log(f"wrote {args.json}")


class Benchmark:
    """One benchmark run: starts every server, creates the images, measures, and returns Results."""

    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.results = report.Results(args.runs, only=report.SHARED if args.shared_only else None,
                                      leave_out=() if args.image else report.IMAGE)
        self.pull_dir = tempfile.mkdtemp(prefix="ociproxy-bench-pull-", dir="/dev/shm")
        self.container = ContainerImage(ROOT, work, log)

    def run(self):
        args = self.args
        settings = {"runs": args.runs, "wrk_seconds": args.wrk_seconds, "wrk_connections": 32,
                    "wrk_threads": 2, "blob_mib": args.blob_mib, "small_layers": args.small_layers,
                    "java_opts": args.java_opts, "java": args.java, "ours_log_level": args.ours_log_level,
                    "ours_config": args.ours_config, "image": args.image,
                    "first_minute": not args.no_first_minute and not args.shared_only,
                    "shared": not args.no_shared, "shared_only": args.shared_only}
        machine = report.machine_description()
        machine["loadavg_1m_start"] = os.getloadavg()[0]
        try:
            self._run()
        finally:
            servers.stop_all()  # containers first, then the engine they run in
            self.container.close()
            shutil.rmtree(self.pull_dir, ignore_errors=True)
        machine["loadavg_1m_end"] = os.getloadavg()[0]
        return self.results, machine, settings

    def _run(self):
        args = self.args
        self.upstream = servers.Upstream(self.work)
        self.upstream.start()
        log(f"upstream docker-registry on {self.upstream.host}")
        self.images = ImageSet(args.blob_mib, args.small_layers, cold_count=2 * args.runs,
                               small_cold_count=args.runs, shared_count=0 if args.no_shared else 2 * args.runs,
                               shared_only=args.shared_only)
        self.images.generate_and_push(self.work, self.upstream.host, log)
        os.sync()
        if args.shared_only:
            self._shared_phase()
            return

        self.proxies = self._start_proxies()
        self.image = self._image_to_run()
        self.all = [self.upstream, *self.proxies]
        self._prime()
        self._blob_and_image_phase()
        self._manifest_phase()
        if not args.no_first_minute:
            self._first_minute_phase()
        for s in self.proxies:
            if self._alive(s):
                self.results.add("peak_rss", s.name, s.peak_rss_mib())
        if not args.no_shared:
            self._shared_phase()

    def _shared_phase(self):
        SharedPhase(self.args, self.work, self.upstream, self.images, self.results, ROOT, log).run()

    def _start_proxies(self):
        args, up = self.args, self.upstream
        proxies = []
        for name in args.servers:
            if name == "distribution":
                proxies.append(servers.DistributionProxy(self.work, up))
            elif name == "nginx":
                proxies.append(servers.NginxCache(self.work, up))
            elif name == "ours":
                if not os.path.isfile(args.jar):
                    self.results.skipped["ours"] = f"no jar at {args.jar}; build it with mvn -q package -DskipTests"
                    continue
                proxies.append(self._ours(self.work))
            else:
                raise SystemExit(f"--servers: unknown server {name!r} (expected: ours, distribution, nginx)")
        for name in {"ours", "distribution", "nginx"} - set(args.servers):
            self.results.skipped.setdefault(name, "not in --servers")
        for s in proxies:
            s.start()
            log(f"{s.name} on {s.host} (pid {s.proc.pid}), cache empty: {not _has_files(s.dir, 'cache')}")
        return proxies

    def _prime(self):
        """Fills every cache with the warm objects and warms each server's code paths (JIT for ours)."""
        img = self.images
        for s in self.all:
            try:
                repo, tag, mdigest, ldigest, lsize = img.warmup
                measure.fetch_manifest(s.manifest_url(repo, tag))
                measure.blob_pull(s.blob_url(repo, ldigest), lsize)
                for repo, tag, mdigest, ldigest, lsize in img.warm_cold:
                    measure.blob_pull(s.blob_url(repo, ldigest), lsize)
                repo, tag, mdigest, ldigest, lsize = img.big
                measure.fetch_manifest(s.manifest_url(repo, tag))
                measure.fetch_manifest(s.manifest_url(repo, mdigest))
                measure.blob_pull(s.blob_url(repo, ldigest), lsize)
                measure.skopeo_pull(s.image_ref(img.small[0], img.small[1]), self._pull_dest())
                measure.skopeo_pull(s.image_ref(repo, tag), self._pull_dest())
            except MeasurementError as e:
                self.results.note(f"{s.name}: priming failed: {e}")
            if s is not self.upstream:
                self._expect_cached(s, img.big[0], img.big[3])
        os.sync()
        log("primed every server (warm blob, fresh cold-path blobs, manifests, images)")

    def _blob_and_image_phase(self):
        img, n = self.images, self.args.runs
        for r in range(n):
            order = self.all[r % len(self.all):] + self.all[:r % len(self.all)]
            log(f"run {r + 1}/{n}: blobs and images, order {[s.name for s in order]}")
            single = img.cold[2 * r]
            multi = img.cold[2 * r + 1]
            big_repo, _, _, big_digest, big_size = img.big
            for s in order:
                self._cold(s, "cold_blob", single, lambda u, z: measure.blob_pull(u, z), "cold_cpu")
            os.sync()
            for s in order:
                self._cold(s, "cold_blob_x8", multi, lambda u, z: measure.concurrent_blob_pulls(u, z, 8))
            os.sync()
            for s in order:
                self._measure(s, "warm_blob", lambda: measure.blob_pull(s.blob_url(big_repo, big_digest), big_size),
                              cpu_metric="warm_cpu")
            for s in order:
                self._measure(s, "warm_blob_x8",
                              lambda: measure.concurrent_blob_pulls(s.blob_url(big_repo, big_digest), big_size, 8))
            for s in order:
                repo, tag, _ = img.small_cold[r]
                self._measure(s, "skopeo_small_cold", lambda: measure.skopeo_pull(s.image_ref(repo, tag),
                                                                                  self._pull_dest()))
            for s in order:
                repo, tag, _ = img.small
                self._measure(s, "skopeo_small_warm", lambda: measure.skopeo_pull(s.image_ref(repo, tag),
                                                                                  self._pull_dest()))
            for s in order:
                repo, tag, *_ = img.big
                self._measure(s, "skopeo_big_warm", lambda: measure.skopeo_pull(s.image_ref(repo, tag),
                                                                                self._pull_dest()))
            os.sync()

    def _manifest_phase(self):
        repo, tag, mdigest, *_ = self.images.big
        secs = self.args.wrk_seconds
        for s in self.all:  # unrecorded seconds per URL, so every server's hot path is warm (our JIT)
            for ref in (tag, mdigest):
                self._wrk(s, None, s.manifest_url(repo, ref), WRK_WARMUP_SECONDS)
        n = self.args.runs
        for r in range(n):
            order = self.all[r % len(self.all):] + self.all[:r % len(self.all)]
            log(f"run {r + 1}/{n}: manifests with wrk, order {[s.name for s in order]}")
            for s in order:
                self._wrk(s, "manifest_tag", s.manifest_url(repo, tag), secs)
                self._wrk(s, "manifest_digest", s.manifest_url(repo, mdigest), secs)

    def _first_minute_phase(self):
        """Fresh servers, empty caches: time to the first answer, then the first cold pull of a 256 MiB
        blob; and, on another fresh start, the first wrk seconds of manifests (the first one cold).
        The blob is one every server already served in the runs above, so the upstream sends it
        from its page cache to each fresh server alike."""
        repo, tag, mdigest, *_ = self.images.big
        cold_repo, _, _, cold_digest, cold_size = self.images.cold[0]
        n = self.args.runs
        for r in range(n):
            order = self.proxies[r % len(self.proxies):] + self.proxies[:r % len(self.proxies)]
            log(f"run {r + 1}/{n}: first minute of fresh servers, order {[s.name for s in order]}")
            for s in order:
                fresh = self._fresh(s.name, f"first-{r}-pull")
                if fresh is None:
                    continue
                self.results.add("first_answer", s.name, fresh.first_answer_seconds)
                self.results.add("first_ready", s.name, fresh.ready_seconds)
                try:
                    self.results.add("first_cold_blob", s.name,
                                     measure.blob_pull(fresh.blob_url(cold_repo, cold_digest), cold_size))
                except MeasurementError as e:
                    self.results.note(f"{s.name}: first_cold_blob failed: {str(e).splitlines()[0]}")
                self._retire(fresh)
                fresh = self._fresh(s.name, f"first-{r}-wrk")
                if fresh is None:
                    continue
                self._wrk(fresh, "first_burst", fresh.manifest_url(repo, tag), 3)
                self._retire(fresh)
                if s.name == "ours" and self.image:
                    self._first_answer_of_image(r)

    def _image_to_run(self):
        """The image for the image rows (--image), or None; a note says why there is none."""
        if not self.args.image or "ours" not in self.args.servers or self.args.no_first_minute:
            return None
        image, why = self.container.prepare(self.args.image, os.path.abspath(self.args.jar))
        if image is None:
            self.results.note(f"--image {self.args.image}: its rows are left out: {why}")
        return image

    def _first_answer_of_image(self, r):
        """The image, started as `docker run` on the host's network: its first answer and readiness."""
        fresh = servers.OurImage(os.path.join(self.work, f"first-{r}-image"), self.upstream, self.image,
                                 self.args.ours_log_level)
        try:
            fresh.start()
        except RuntimeError as e:
            self.results.note(f"ours-image: fresh start failed: {e}")
            fresh.stop()
            return
        self.results.add("first_answer_image", "ours", fresh.first_answer_seconds)
        from_start = fresh.seconds_from_container_start()
        if from_start is not None:
            self.results.add("first_answer_image_started", "ours", from_start)
        self.results.add("first_ready_image", "ours", fresh.ready_seconds)
        self._retire(fresh)

    def _fresh(self, name, subdir):
        """A new server of the kind named, with its own empty directory, started."""
        work, up = os.path.join(self.work, subdir), self.upstream
        server = {"ours": lambda: self._ours(work),
                  "distribution": lambda: servers.DistributionProxy(work, up),
                  "nginx": lambda: servers.NginxCache(work, up)}[name]()
        try:
            server.start()
        except RuntimeError as e:
            self.results.note(f"{name}: fresh start failed: {e}")
            return None
        return server

    def _retire(self, server):
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)

    def _ours(self, work):
        a = self.args
        return servers.OurProxy(work, self.upstream, a.jar, a.java_opts.split(), a.ours_log_level, java=a.java,
                                sections=a.ours_config + "\n" if a.ours_config else "")

    # --- helpers ---------------------------------------------------------------------------
    def _cold(self, s, metric, image, pull, cpu_metric=None):
        """A pull of a blob that s has never been asked for; refused if its cache already holds it.

        With cpu_metric, the CPU is counted until the upstream has stopped sending (a proxy may go on
        fetching after the client is served), and the bytes the upstream read for it are recorded.
        """
        repo, _, _, digest, size = image
        if s is not self.upstream and (s.cached_blob(repo, digest) or _mentions(s.dir, digest)):
            self.results.note(f"{s.name}: {metric} refused: cache already held {digest} before the cold pull")
            return
        self._measure(s, metric, lambda: pull(s.blob_url(repo, digest), size), cpu_metric, settle=True)
        if s is not self.upstream:
            self._expect_cached(s, repo, digest)

    def _measure(self, s, metric, fn, cpu_metric=None, settle=False):
        """With settle, CPU is counted until the upstream is idle, and its reads are recorded."""
        if not self._alive(s):
            return
        cpu0, read0 = s.cpu_seconds(), self.upstream.bytes_read()
        try:
            value = fn()
        except MeasurementError as e:
            self.results.note(f"{s.name}: {metric} failed: {str(e).splitlines()[0]}")
            return
        if cpu_metric:
            if settle:
                read = self.upstream.bytes_read_when_idle()
                self.results.add("cold_upstream_read", s.name, (read - read0) / measure.MB)
            self.results.add(cpu_metric, s.name, s.cpu_seconds() - cpu0)
        self.results.add(metric, s.name, value)

    def _wrk(self, s, metric, url, secs):
        if not self._alive(s):
            return
        try:
            rps, p50, p99, errors = measure.wrk(url, 32, 2, secs)
        except MeasurementError as e:
            self.results.note(f"{s.name}: {metric or 'wrk warm-up'} failed: {str(e).splitlines()[0]}")
            return
        if metric is None:
            return
        if errors:
            self.results.note(f"{s.name}: {metric}: wrk socket errors ({errors})")
        self.results.add(metric + "_rps", s.name, rps)
        self.results.add(metric + "_p50", s.name, p50)
        self.results.add(metric + "_p99", s.name, p99)

    def _expect_cached(self, s, repo, digest):
        """Notes a proxy that did not keep a blob it served (distribution commits asynchronously)."""
        for _ in range(50):
            if s.cached_blob(repo, digest) is not False:
                return
            time.sleep(0.1)
        self.results.note(f"{s.name}: {digest[:19]}... was not in its cache 5 s after it was served")

    def _alive(self, s):
        if s.proc.poll() is None:
            return True
        self.results.note(f"{s.name}: exited with {s.proc.returncode}; later measurements skipped")
        return False

    def _pull_dest(self):
        return tempfile.mkdtemp(dir=self.pull_dir) + "/image"


def _mentions(path, digest):
    """Whether any file or directory name under path contains the digest's hex, wherever a cache keeps it."""
    hexd = digest.split(":")[1]
    for _, dirs, files in os.walk(path):
        if any(hexd in name for name in dirs) or any(hexd in name for name in files):
            return True
    return False


def _has_files(path, sub):
    for _, _, files in os.walk(os.path.join(path, sub)):
        if files:
            return True
    return False


if __name__ == "__main__":
    main(sys.argv[1:])
