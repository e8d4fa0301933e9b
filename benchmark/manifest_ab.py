#!/usr/bin/env python3
"""Manifest requests only, for comparing builds or JVM options of our proxy side by side in one run.

    benchmark/manifest_ab.py a=proxy-server/target/registry-proxy.jar b=x.jar:-XX:+UseParallelGC
    benchmark/manifest_ab.py ours=x.jar --others nginx --runs 7 --seconds 5

Each NAME=JAR[:OPT...] starts one proxy (the README's heap bounds plus the options: JVM options, or
cache.KEY=VALUE for a key of the config's cache section); nginx runs beside them unless --others
says otherwise. One small image is pushed to the upstream; every server is warmed with wrk on both
URLs (unrecorded), then each repetition runs wrk (-t2 -c32, keep-alive, the benchmark's Accept
header) on the manifest by tag and by digest through each server in a rotated order. Prints each
server's median requests/s, p50 and p99. A tool for a quick A/B; the full benchmark is run.sh.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import urllib.request

import measure
import servers
from cold_ab import other_servers, our_proxy, push_blob

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def push_image(upstream, repo, tag):
    """Pushes a one-layer image; returns the manifest's digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = os.urandom(4096)
    descriptors = []
    for data, media_type in ((config, "application/vnd.oci.image.config.v1+json"),
                             (layer, "application/vnd.oci.image.layer.v1.tar")):
        descriptors.append({"mediaType": media_type, "digest": push_blob(upstream, repo, data), "size": len(data)})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": descriptors[0], "layers": descriptors[1:]}).encode()
    put = urllib.request.Request(f"http://{upstream.host}/v2/{repo}/manifests/{tag}", method="PUT",
                                 data=manifest, headers={"Content-Type": OCI_MANIFEST})
    urllib.request.urlopen(put).close()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ours", nargs="+", metavar="NAME=JAR[:OPT...]")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    p.add_argument("--others", default="nginx", help="comma-separated (distribution, nginx); '' for none")
    args = p.parse_args(argv)
    work = tempfile.mkdtemp(prefix="manifest-ab-")
    try:
        up = servers.Upstream(work)
        up.start()
        started = []
        for spec in args.ours:
            started.append(our_proxy(work, up, spec))
        started += other_servers(work, up, args.others)
        for _, s in started:
            s.start()
        repo, tag = "bench/manifest", "v1"
        digest = push_image(up, repo, tag)
        refs = {"tag": tag, "digest": digest}
        for _, s in started:  # unrecorded: every server's hot path warm (our JIT)
            for ref in refs.values():
                measure.fetch_manifest(s.manifest_url(repo, ref))
                measure.wrk(s.manifest_url(repo, ref), 32, 2, 3)
        res = {(name, kind): [] for name, _ in started for kind in refs}
        for r in range(args.runs):
            k = r % len(started)
            for name, s in started[k:] + started[:k]:
                for kind, ref in refs.items():
                    res[name, kind].append(measure.wrk(s.manifest_url(repo, ref), 32, 2, args.seconds)[:3])
            print(f"run {r + 1}/{args.runs}: " + " ".join(
                f"{n}/{kind} {v[-1][0]:.0f} p99 {v[-1][2]:.2f}" for (n, kind), v in res.items()), flush=True)
        print(f"\n{'server':14} {'by':7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}  p99 of every run")
        for (name, kind), v in res.items():
            print(f"{name:14} {kind:7} {statistics.median(x[0] for x in v):8.0f} "
                  f"{statistics.median(x[1] for x in v):7.2f} {statistics.median(x[2] for x in v):7.2f}  "
                  f"{[round(x[2], 2) for x in v]}")
    finally:
        servers.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
