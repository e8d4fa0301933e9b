#!/usr/bin/env python3
"""How many requests a freshly started proxy needs before its JIT has compiled the warm small-blob path.

Starts Debian's docker-registry and our proxy (benchmark/servers.py), pulls one 16 KiB blob once
(cold), then sends it again in buckets of --bucket requests (ApacheBench, keep-alive, 8
connections) and prints, per bucket, the proxy's CPU per request in microseconds split into the
work (event loop and every other thread) and the JIT compiler threads. Counting in requests, not
seconds, keeps the curve comparable on a loaded machine. Not part of run.sh.

  benchmark/warmup_curve.py [--jar JAR] [--buckets 12] [--bucket 4000] [-- JVM options...]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import images  # noqa: E402
import servers  # noqa: E402


def thread_cpu(pid):
    """(compiler seconds, other seconds) of every thread of pid."""
    compiler = other = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        ticks = int(fields[11]) + int(fields[12])
        if "Compiler" in comm:
            compiler += ticks
        else:
            other += ticks
    return compiler / servers.CLK_TCK, other / servers.CLK_TCK


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jar", default="proxy-server/target/registry-proxy.jar")
    p.add_argument("--buckets", type=int, default=12)
    p.add_argument("--bucket", type=int, default=4000, help="requests per bucket")
    p.add_argument("java_opts", nargs="*", help="extra JVM options for our proxy (after --)")
    args = p.parse_args()
    for tool in ("ab", "docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    work = tempfile.mkdtemp(prefix="warmup-curve-")
    try:
        upstream = servers.Upstream(work)
        upstream.start()
        imgs = images.ImageSet(16, 8, 0, 0)
        imgs.generate_and_push(work, upstream.host, lambda m: None)
        ours = servers.OurProxy(work, upstream, args.jar, ["-Xms32m", "-Xmx512m", *args.java_opts], "WARN")
        ours.start()
        repo, tag, _ = imgs.small
        req = urllib.request.Request(f"http://{upstream.host}/v2/{repo}/manifests/{tag}",
                                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        with urllib.request.urlopen(req) as r:
            layers = json.loads(r.read())["layers"]
        url = ours.blob_url(repo, next(l["digest"] for l in layers if l["size"] == 16384))
        pid = ours.pids()[0]
        print(f"{' '.join(args.java_opts) or 'default'}: CPU per request (us), work + JIT compiler")
        done = 0
        for _ in range(args.buckets):
            before = thread_cpu(pid)
            r = subprocess.run(["ab", "-k", "-q", "-c", "8", "-n", str(args.bucket), url],
                               capture_output=True, text=True)
            if r.returncode or f"Complete requests:      {args.bucket}" not in r.stdout:
                sys.exit(f"ab failed: {r.stdout[-400:]}{r.stderr[-400:]}")
            after = thread_cpu(pid)
            done += args.bucket
            work_us = (after[1] - before[1]) / args.bucket * 1e6
            jit_us = (after[0] - before[0]) / args.bucket * 1e6
            print(f"  after {done:>6} requests: {work_us:6.0f} + {jit_us:4.0f}", flush=True)
    finally:
        servers.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
