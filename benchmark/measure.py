"""Single measurements with the real clients: curl for blobs, wrk for manifests, skopeo for images.

Each function returns plain numbers and raises MeasurementError when the server answered wrongly,
so a broken server shows up as a gap in the table rather than as a fast, wrong figure.
"""
import os
import re
import shutil
import subprocess
import time

MB = 1_000_000  # throughput is reported in MB/s (10^6 bytes), as curl's speed_download is bytes/s

MANIFEST_ACCEPT = ("application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
                   "application/vnd.docker.distribution.manifest.v2+json, "
                   "application/vnd.docker.distribution.manifest.list.v2+json")

_CURL_FORMAT = "%{http_code} %{size_download} %{speed_download}"


class MeasurementError(Exception):
    pass


def _curl(url):
    return ["curl", "-sS", "--max-time", "600", "-o", "/dev/null", "-w", _CURL_FORMAT, url]


def _check_curl(url, out, expected_size):
    code, size, _ = out.split()
    if code != "200" or int(size) != expected_size:
        raise MeasurementError(f"GET {url}: HTTP {code}, {size} bytes (expected: 200, {expected_size} bytes)")


def blob_pull(url, expected_size):
    """One GET of a blob to /dev/null; returns MB/s as measured by curl."""
    res = subprocess.run(_curl(url), capture_output=True, text=True)
    if res.returncode:
        raise MeasurementError(f"GET {url}: curl exit {res.returncode}: {res.stderr.strip()}")
    _check_curl(url, res.stdout, expected_size)
    return float(res.stdout.split()[2]) / MB


def concurrent_blob_pulls(url, expected_size, n):
    """n simultaneous GETs of one blob (n curl processes); returns aggregate MB/s over the wall time."""
    return simultaneous_pulls([url] * n, expected_size)


def simultaneous_pulls(urls, expected_size):
    """One GET per URL, all started together (a curl process each), of blobs of one size;
    returns aggregate MB/s over the wall time."""
    start = time.monotonic()
    procs = [subprocess.Popen(_curl(url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for url in urls]
    outs = [p.communicate() for p in procs]
    wall = time.monotonic() - start
    for url, p, (out, err) in zip(urls, procs, outs):
        if p.returncode:
            raise MeasurementError(f"GET {url}: curl exit {p.returncode}: {err.strip()}")
        _check_curl(url, out, expected_size)
    return len(urls) * expected_size / wall / MB


def fetch_manifest(url):
    """One GET with the manifest Accept header; raises unless it answers 200."""
    res = subprocess.run(["curl", "-sS", "--max-time", "60", "-o", "/dev/null", "-w", "%{http_code}",
                          "-H", "Accept: " + MANIFEST_ACCEPT, url], capture_output=True, text=True)
    if res.stdout != "200":
        raise MeasurementError(f"GET {url}: HTTP {res.stdout} {res.stderr.strip()}")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url, connections, threads, seconds):
    """wrk with keep-alive connections; returns (requests/s, p50 ms, p99 ms, socket errors or None)."""
    res = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-H", "Accept: " + MANIFEST_ACCEPT, url],
                         capture_output=True, text=True, timeout=seconds + 60)
    out = res.stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if res.returncode or bad:
        raise MeasurementError(f"wrk {url}: exit {res.returncode}, "
                               f"{bad.group(1) if bad else 0} non-2xx responses\n{out}{res.stderr}")
    errors = re.search(r"Socket errors: (.*)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return rps, p50, p99, errors.group(1) if errors else None


def skopeo_pull(image_ref, dest_dir):
    """skopeo copy of a whole image to dir:; returns wall seconds. dest_dir is removed afterwards."""
    start = time.monotonic()
    res = subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", image_ref, "dir:" + dest_dir],
                         capture_output=True, text=True)
    wall = time.monotonic() - start
    shutil.rmtree(dest_dir, ignore_errors=True)
    if res.returncode:
        raise MeasurementError(f"skopeo copy {image_ref}: exit {res.returncode}: {res.stderr.strip()}")
    return wall


def page_cache_hint():
    """Flushes dirty pages so one server's cache writes do not stall the next measurement."""
    os.sync()
