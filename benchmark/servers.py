"""Starts and stops the servers under test, each in a private directory on a free loopback port.

Every process is started in its own session and remembered in PROCESSES, so stop_all() can end
it (and only it: SIGTERM to its own process group, then SIGKILL) on any exit path.
"""
import calendar
import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

PROCESSES = []
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_all():
    for proc in reversed(PROCESSES):
        _stop(proc)
    PROCESSES.clear()


def _stop(proc):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


class Server:
    """One HTTP registry endpoint: how to start it, address it, and read its resource use."""

    name = "?"
    prefix = ""  # path segment(s) between /v2/ and the repository name
    ready_path = None  # where the server says it is ready for traffic, if it says so apart

    def __init__(self, work_dir):
        self.dir = os.path.join(work_dir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.proc = None

    # --- lifecycle -------------------------------------------------------------------------
    def command(self):
        raise NotImplementedError

    def env(self):
        """Extra environment variables for the server process."""
        return {}

    def start(self, timeout=60):
        """Starts the server and waits for its first HTTP answer on /v2/ (self.first_answer_seconds),
        then, where it has a readiness endpoint, for that to answer 200 (self.ready_seconds): what a
        load balancer waits for before it sends traffic."""
        log = open(os.path.join(self.dir, "server.log"), "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     env=dict(os.environ, **self.env()))
        PROCESSES.append(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2):
                    pass
                self._answered(t0)
                break
            except urllib.error.HTTPError:
                self._answered(t0)
                break  # it answers HTTP; a 401 is still "up"
            except OSError:
                time.sleep(0.02)
        else:
            raise RuntimeError(f"{self.name} did not answer /v2/ within {timeout}s; see {log.name}")
        self.ready_seconds = self.first_answer_seconds
        while self.ready_path and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"http://{self.host}{self.ready_path}", timeout=2):
                    self.ready_seconds = time.monotonic() - t0
                    return
            except OSError:  # HTTPError included: 503 until ready
                time.sleep(0.02)
        if self.ready_path:
            raise RuntimeError(f"{self.name} not ready on {self.ready_path} within {timeout}s; see {log.name}")

    def _answered(self, t0):
        self.first_answer_seconds = time.monotonic() - t0
        self.first_answer_wall = time.time()  # beside a clock outside this process (a container's start)

    def stop(self):
        if self.proc is not None:
            _stop(self.proc)

    # --- addressing ------------------------------------------------------------------------
    def path(self, repo):
        return f"/v2/{self.prefix}{repo}"

    def blob_url(self, repo, digest):
        return f"http://{self.host}{self.path(repo)}/blobs/{digest}"

    def manifest_url(self, repo, ref):
        return f"http://{self.host}{self.path(repo)}/manifests/{ref}"

    def image_ref(self, repo, tag):
        return f"docker://{self.host}/{self.prefix}{repo}:{tag}"

    def cached_blob(self, repo, digest):
        """Whether the cache holds the blob now; None where there is no cache to look in."""
        return None

    # --- resource use ----------------------------------------------------------------------
    def pids(self):
        """The server's processes: the one we started plus its children (nginx workers)."""
        pid = self.proc.pid
        out = [pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == pid:
                        out.append(int(entry))
                except (OSError, IndexError):
                    pass
        return out

    def peak_rss_mib(self):
        """Sum of VmHWM over the server's processes, in MiB."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def bytes_read(self):
        """Bytes the server process has read from files so far (rchar: read and sendfile)."""
        with open(f"/proc/{self.proc.pid}/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
        return 0

    def bytes_read_when_idle(self, timeout=30):
        """Waits (up to timeout s) until the server has read nothing for 0.5 s; returns its bytes read."""
        last = self.bytes_read()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.bytes_read()
            if now == last:
                break
            last = now
        return last

    def cpu_seconds(self):
        """User+system CPU seconds used so far by the server's live processes."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError):
                pass
        return total / CLK_TCK


def _registry_yaml(root, port, extra=""):
    return (
        "version: 0.1\n"
        "log: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}},"
        " cache: {blobdescriptor: inmemory}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n" + extra)


class Upstream(Server):
    """The real upstream: Debian's docker-registry (CNCF distribution) on filesystem storage.

    Its column in the table is "direct": clients pulling from it with no proxy in between.
    """

    name = "direct"

    def command(self):
        cfg = os.path.join(self.dir, "config.yml")
        with open(cfg, "w") as f:
            f.write(_registry_yaml(os.path.join(self.dir, "data"), self.port))
        return ["docker-registry", "serve", cfg]


class DistributionProxy(Server):
    """CNCF distribution in pull-through (proxy.remoteurl) mode: the peer users would pick."""

    name = "distribution"

    def __init__(self, work_dir, upstream):
        super().__init__(work_dir)
        self.upstream = upstream
        self.root = os.path.join(self.dir, "cache")

    def command(self):
        cfg = os.path.join(self.dir, "config.yml")
        with open(cfg, "w") as f:
            f.write(_registry_yaml(self.root, self.port,
                                   f"proxy: {{remoteurl: http://{self.upstream.host}}}\n"))
        return ["docker-registry", "serve", cfg]

    def cached_blob(self, repo, digest):
        alg, hexd = digest.split(":")
        return os.path.exists(os.path.join(self.root, "docker/registry/v2/blobs", alg, hexd[:2], hexd, "data"))


NGINX_CONF = """\
# nginx proxy_cache in front of the upstream: the raw-caching speed reference (verifies nothing).
worker_processes auto;
daemon off;
master_process on;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 16384;
events {{ worker_connections 4096; multi_accept on; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  proxy_cache_path {dir}/cache levels=1:2 keys_zone=registry:64m max_size=100g inactive=7d use_temp_path=off;
  upstream registry {{ server {upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_buffering on;
    proxy_buffer_size 64k;
    proxy_buffers 64 64k;
    proxy_busy_buffers_size 512k;
    proxy_cache_lock on;
    proxy_cache_lock_timeout 120s;
    proxy_cache_lock_age 120s;
    proxy_cache_methods GET HEAD;
    # Blobs are content-addressed: key on the path only, keep them long.
    location ~ "^/v2/.+/blobs/sha256:[0-9a-f]{{64}}$" {{
      proxy_pass http://registry;
      proxy_cache registry;
      proxy_cache_key $uri;
      proxy_cache_valid 200 7d;
    }}
    # Manifests vary by Accept; tags are cached too (10 min), as nginx registry mirrors do.
    location ~ ^/v2/.+/manifests/ {{
      proxy_pass http://registry;
      proxy_cache registry;
      proxy_cache_key $uri|$http_accept;
      proxy_cache_valid 200 10m;
    }}
    location /v2/ {{
      proxy_pass http://registry;
    }}
  }}
}}
"""


class NginxCache(Server):
    """Debian's nginx with proxy_cache, tuned: sendfile, cache lock, big buffers, keep-alive upstream."""

    name = "nginx"

    def __init__(self, work_dir, upstream):
        super().__init__(work_dir)
        self.upstream = upstream

    def command(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, upstream=self.upstream.host))
        return ["nginx", "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")]

    def cached_blob(self, repo, digest):
        # proxy_cache_key is $uri; levels=1:2 puts md5(key) under <last char>/<two chars before>.
        key = hashlib.md5(f"{self.path(repo)}/blobs/{digest}".encode()).hexdigest()
        return os.path.exists(os.path.join(self.dir, "cache", key[-1], key[-3:-1], key))


class OurProxy(Server):
    """The proxy under test: java -jar registry-proxy.jar --config <yaml>."""

    name = "ours"
    ready_path = "/readyz"
    upstream_name = "upstream.bench"
    prefix = upstream_name + "/"

    def __init__(self, work_dir, upstream, jar, java_opts, log_level, cache_settings=None, java="java",
                 name=None, sections=""):
        self.name = name or self.name  # replicas of the shared form: ours-a, ours-b, ...
        super().__init__(work_dir)
        self.sections = sections  # more top-level YAML (storage, cluster) appended to the config
        self.java = java
        self.upstream = upstream
        self.jar = jar
        self.java_opts = java_opts
        self.log_level = log_level
        self.cache_settings = cache_settings or {}  # extra keys of the cache section, e.g. directWrites
        self.cache = os.path.join(self.dir, "cache")

    def env(self):
        # The proxy's logging reads LOG_LEVEL; WARN turns the per-request access log off, as for the others.
        return {"LOG_LEVEL": self.log_level}

    def command(self):
        cfg = self.write_config()
        return [self.java, *[self._archive_beside_jar(o) for o in self.java_opts], "-jar", self.jar, "--config", cfg]

    def write_config(self):
        """Writes the proxy's config into its directory; returns the file's path."""
        cfg = os.path.join(self.dir, "config.yaml")
        with open(cfg, "w") as f:
            f.write(f'listen: "{self.host}"\n'
                    f'cache:\n  dir: "{self.cache}"\n'
                    + "".join(f"  {k}: {v}\n" for k, v in self.cache_settings.items()) +
                    'upstreams:\n'
                    f'  - name: "{self.upstream_name}"\n'
                    f'    url: "http://{self.upstream.host}"\n'
                    '    default: true\n' + self.sections)
        return cfg

    def _archive_beside_jar(self, opt):
        """The README's class-data archive is the one the build wrote beside the jar under test."""
        if opt.startswith("-XX:SharedArchiveFile="):
            return "-XX:SharedArchiveFile=" + os.path.splitext(os.path.abspath(self.jar))[0] + ".jsa"
        return opt

    def cached_blob(self, repo, digest):
        alg, hexd = digest.split(":")
        return os.path.exists(os.path.join(self.cache, "blobs", alg, hexd[:2], hexd))

    def metric(self, name, **labels):
        """The sum of a metric's samples on /metrics whose labels include these (0 when absent)."""
        with urllib.request.urlopen(f"http://{self.host}/metrics", timeout=10) as r:
            text = r.read().decode()
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        total = 0.0
        for line in text.splitlines():
            m = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
            if m and m.group(1) == name and all(w in (m.group(2) or "") for w in wanted):
                total += float(m.group(3))
        return total


class OurImage(OurProxy):
    """The proxy's container image, run as its README says, on the host's network with the same
    config as the jar (only the cache moves to the image's volume): `docker run IMAGE`. Started and
    timed like the others; the container's own start is read back from the engine afterwards."""

    def __init__(self, work_dir, upstream, image, log_level):
        super().__init__(work_dir, upstream, jar="", java_opts=[], log_level=log_level, name="ours-image")
        self.image = image
        self.container = f"ociproxy-bench-{os.getpid()}-{self.port}"
        self.cache = "/var/cache/registry-proxy"

    def command(self):
        cfg = self.write_config()
        os.chmod(cfg, 0o644)  # read by the image's user, 10001
        return ["docker", "run", "--rm", "--name", self.container, "--network", "host",
                "-e", f"LOG_LEVEL={self.log_level}", "-v", f"{cfg}:/etc/registry-proxy/proxy.yaml:ro", self.image]

    def seconds_from_container_start(self):
        """From the engine's record of the container's start to the first answer (None if unknown)."""
        res = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", self.container],
                             capture_output=True, text=True, timeout=30)
        m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", res.stdout.strip())
        if res.returncode != 0 or not m:
            return None
        started = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float("0." + (m.group(2) or "0"))
        return self.first_answer_wall - started

    def stop(self):
        subprocess.run(["docker", "rm", "-f", "-v", self.container], capture_output=True, timeout=60)
        super().stop()

    def cached_blob(self, repo, digest):
        return None  # inside the container's volume

    def pids(self):
        return []  # the JVM is the engine's child, not ours: no RSS or CPU rows from here


S3_LOGBACK = """\
<configuration>
  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{24} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="OUT"/></root>
</configuration>
"""


class S3Store(Server):
    """s3proxy 2.6.0, the tests' S3 server, as a process over its filesystem backend: the shared store.

    Signatures are checked (AWS v2 or v4) with ACCESS_KEY and SECRET_KEY; BUCKET exists, empty.
    Without a logback configuration s3proxy logs every request at DEBUG, so it gets one (WARN).
    """

    name = "s3proxy"
    ACCESS_KEY = "bench-access"
    SECRET_KEY = "bench-secret-key-0123456789"
    BUCKET = "bench"

    def __init__(self, work_dir, classpath, java="java"):
        super().__init__(work_dir)
        self.classpath = classpath
        self.java = java
        self.data = os.path.join(self.dir, "data")
        os.makedirs(os.path.join(self.data, self.BUCKET), exist_ok=True)  # a bucket is a directory

    def command(self):
        props = os.path.join(self.dir, "s3proxy.properties")
        with open(props, "w") as f:
            f.write(f"s3proxy.endpoint=http://{self.host}\n"
                    "s3proxy.authorization=aws-v2-or-v4\n"
                    f"s3proxy.identity={self.ACCESS_KEY}\n"
                    f"s3proxy.credential={self.SECRET_KEY}\n"
                    "jclouds.provider=filesystem-nio2\n"
                    f"jclouds.filesystem.basedir={self.data}\n"
                    "jclouds.identity=bench\njclouds.credential=bench\n")
        logback = os.path.join(self.dir, "logback.xml")
        with open(logback, "w") as f:
            f.write(S3_LOGBACK)
        return [self.java, "-Xmx256m", f"-Dlogback.configurationFile={logback}", "-cp", self.classpath,
                "org.gaul.s3proxy.Main", "--properties", props]

    def storage_yaml(self, prefix, secret=None):
        """The storage section that puts a replica's shared tier in BUCKET under prefix; secret, when
        given, is storage.s3.secret (a jar that authenticates the bucket's metadata needs it, or
        cluster.secret; an older jar refuses the key)."""
        return ("storage:\n  s3:\n"
                f'    endpoint: "http://{self.host}"\n'
                '    region: "us-east-1"\n'
                f'    bucket: "{self.BUCKET}"\n'
                f'    prefix: "{prefix}"\n'
                "    pathStyle: true\n"
                f'    accessKey: "{self.ACCESS_KEY}"\n'
                f'    secretKey: "{self.SECRET_KEY}"\n'
                + (f'    secret: "{secret}"\n' if secret else ""))


def s3proxy_classpath(root, out_file):
    """The classpath of the s3proxy the tests run (proxy-core's test scope, its version pinned in the
    root pom), resolved offline from ~/.m2 by the dependency plugin; RuntimeError when it cannot be."""
    cmd = ["mvn", "-B", "-q", "-o", "-f", os.path.join(root, "pom.xml"), "-pl", "proxy-core",
           "dependency:build-classpath", "-Dmdep.includeScope=test", f"-Dmdep.outputFile={out_file}"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"{' '.join(cmd[:4])} ...: {e}") from e
    if res.returncode or not os.path.isfile(out_file):
        tail = (res.stdout + res.stderr).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"mvn dependency:build-classpath exit {res.returncode}: {tail[0]}")
    with open(out_file) as f:
        cp = f.read().strip()
    if "/s3proxy-" not in cp:
        raise RuntimeError("proxy-core's test classpath holds no s3proxy jar")
    return cp
