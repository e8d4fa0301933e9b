"""The shared form of issue 18: replicas of our proxy, each with its own cache directory, sharing one
bucket on s3proxy, and three of them in one cluster in front of the benchmark's upstream.

Two measurements, each on never-seen blobs (one per repetition), each refused rather than reported
when a replica already held its blob:
- the store: a blob pulled through replica A (cold: the upstream, then uploaded to the bucket), then
  through replica B whose local tier never had it (read from the store and hashed again), then
  through B again (its local tier);
- the fleet: 8 simultaneous cold pulls of one blob spread over three replicas in one cluster; the
  bytes the upstream read for them (the goal: one blob's worth) and the aggregate throughput.

Rows are skipped with a note, never failing the run, when the jar has no storage.s3 or no cluster
support or s3proxy cannot be started.
"""
import os
import shutil
import time
import zipfile

import measure
import servers
from measure import MeasurementError

# The classes the two features bring; a jar without them would refuse the config keys.
S3_CLASS = "dev/ociproxy/core/shared/S3ObjectStore.class"
CLUSTER_CLASS = "dev/ociproxy/core/cluster/Rendezvous.class"
CLUSTER_SECRET = "bench-cluster-secret-0123456789abcdef"  # at least 32 characters
# A jar with this class authenticates the bucket's metadata: storage.s3.secret, or cluster.secret.
MAC_CLASS = "dev/ociproxy/core/shared/RecordMac.class"
STORE_SECRET = "bench-store-secret-0123456789abcdef"  # at least 32 characters
PULLS = 8
REPLICAS = 3


class SharedPhase:
    """Starts s3proxy and the replicas it needs, measures, and stops them again."""

    def __init__(self, args, work, upstream, images, results, root, log):
        self.args = args
        self.work = os.path.join(work, "shared")
        self.upstream = upstream
        self.images = images  # an ImageSet with the warm-up images and 2 x runs shared ones
        self.results = results
        self.root = root  # the repository, whose proxy-core pins the s3proxy the tests use
        self.log = log

    def run(self):
        missing = self._missing()
        if missing:
            self.results.note(f"shared-form rows skipped: {missing}")
            return
        try:
            cp = self.args.s3proxy_classpath or servers.s3proxy_classpath(
                self.root, os.path.join(os.path.dirname(self.work), "s3proxy.classpath"))
        except RuntimeError as e:
            self.results.note(f"shared-form rows skipped: no s3proxy classpath ({e}); "
                              "give one with --s3proxy-classpath")
            return
        self.store = servers.S3Store(self.work, cp, java=self.args.java)
        try:
            self.store.start(timeout=120)
        except RuntimeError as e:
            self.results.note(f"shared-form rows skipped: s3proxy did not start: {e} (--keep keeps it)")
            return
        self.log(f"s3proxy on {self.store.host} (pid {self.store.proc.pid}), filesystem backend")
        try:
            self._store_phase()
            if self._has(CLUSTER_CLASS):
                self._fleet_phase()
            else:
                self.results.note(f"3 replicas rows skipped: {self.args.jar} has no cluster support "
                                  f"(no {CLUSTER_CLASS})")
        finally:
            self.store.stop()
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)  # gigabytes of blobs, in six places

    def _missing(self):
        if not os.path.isfile(self.args.jar):
            return f"no jar at {self.args.jar}"
        if not self._has(S3_CLASS):
            return f"{self.args.jar} has no storage.s3 (no {S3_CLASS})"
        return None

    def _has(self, entry):
        with zipfile.ZipFile(self.args.jar) as z:
            try:
                z.getinfo(entry)
                return True
            except KeyError:
                return False

    def _replicas(self, names, prefix, cluster):
        """Replicas of ours in front of the upstream, the same bucket and prefix, each its own cache.dir."""
        a = self.args
        reps = [servers.OurProxy(self.work, self.upstream, a.jar, a.java_opts.split(), a.ours_log_level,
                                 java=a.java, name=n) for n in names]
        for r in reps:
            # Without a cluster the store needs its own secret; in one, cluster.secret serves.
            secret = STORE_SECRET if not cluster and self._has(MAC_CLASS) else None
            r.sections = self.store.storage_yaml(prefix, secret)
            if cluster:
                peers = ", ".join(f'"{p.host}"' for p in reps)
                r.sections += (f"cluster:\n  peers: [{peers}]\n  advertise: \"{r.host}\"\n"
                               f"  secret: \"{CLUSTER_SECRET}\"\n")
        for r in reps:
            r.start(timeout=120)
            self.log(f"{r.name} on {r.host} (pid {r.proc.pid}), bucket {self.store.BUCKET}/{prefix}")
        return reps

    # --- the store: A cold, B from the store, B from its local tier -------------------------------
    def _store_phase(self):
        try:
            a, b = self._replicas(["ours-a", "ours-b"], "warm/", cluster=False)
        except RuntimeError as e:
            self.results.note(f"store rows skipped: {e}")
            return
        try:
            # The three paths once each with the warm-up blobs, so the JIT has compiled them.
            for image in (self.images.warmup, *self.images.warm_cold[:2]):
                self._through_store(a, b, image, record=False)
            for r in range(self.args.runs):
                self.log(f"run {r + 1}/{self.args.runs}: shared store, {a.name} then {b.name} twice")
                self._through_store(a, b, self.images.shared[2 * r], record=True)
        finally:
            a.stop()
            b.stop()

    def _through_store(self, a, b, image, record):
        repo, _, _, digest, size = image
        if a.cached_blob(repo, digest) or b.cached_blob(repo, digest):
            self.results.note(f"shared store: {digest[:19]}... was cached before its cold pull; run refused")
            return
        try:
            uploaded0 = a.metric("registry_proxy_shared_store_uploaded_bytes_total")
            cold = measure.blob_pull(a.blob_url(repo, digest), size)
            if not self._await(lambda: a.metric("registry_proxy_shared_store_uploaded_bytes_total")
                               >= uploaded0 + size, 120):
                self.results.note(f"shared store: {a.name} had not uploaded {digest[:19]}... 120 s after serving it")
                return
            store0, read0, cpu0 = b.metric("registry_proxy_blob_bytes_total", source="store"), \
                self.upstream.bytes_read(), b.cpu_seconds()
            from_store = measure.blob_pull(b.blob_url(repo, digest), size)
            cpu = b.cpu_seconds() - cpu0
            upstream_read = self.upstream.bytes_read() - read0
            if upstream_read >= size or not self._await(
                    lambda: b.metric("registry_proxy_blob_bytes_total", source="store") >= store0 + size, 5):
                self.results.note(f"shared store: {b.name} did not serve {digest[:19]}... from the store "
                                  f"(the upstream read {upstream_read} bytes meanwhile); run refused")
                return
            if not self._await(lambda: b.cached_blob(repo, digest), 10):
                self.results.note(f"shared store: {b.name} had not kept {digest[:19]}... 10 s after serving it")
                return
            local = measure.blob_pull(b.blob_url(repo, digest), size)
        except (MeasurementError, OSError) as e:
            self.results.note(f"shared store: {str(e).splitlines()[0]}")
            return
        if record:
            self.results.add("shared_cold_blob", "ours", cold)
            self.results.add("shared_store_blob", "ours", from_store)
            self.results.add("shared_store_cpu", "ours", cpu)
            self.results.add("shared_local_blob", "ours", local)

    # --- the fleet: 8 cold pulls over three replicas, one upstream fetch ---------------------------
    def _fleet_phase(self):
        try:
            fleet = self._replicas([f"ours-{n}" for n in "cde"][:REPLICAS], "fleet/", cluster=True)
        except RuntimeError as e:
            self.results.note(f"3 replicas rows skipped: {e}")
            return
        try:
            if not self._await(lambda: all(r.metric("registry_proxy_cluster_members", state="healthy")
                                           == REPLICAS for r in fleet), 60):
                self.results.note(f"3 replicas rows skipped: the replicas did not all see {REPLICAS} healthy "
                                  "members within 60 s")
                return
            for image in self.images.warm_cold[2:]:  # the peer path's JIT warm-up
                self._fleet_pulls(fleet, image, record=False)
            for r in range(self.args.runs):
                self.log(f"run {r + 1}/{self.args.runs}: {PULLS} cold pulls over {REPLICAS} replicas")
                self._fleet_pulls(fleet, self.images.shared[2 * r + 1], record=True)
        finally:
            for r in fleet:
                r.stop()

    def _fleet_pulls(self, fleet, image, record):
        repo, _, _, digest, size = image
        if any(r.cached_blob(repo, digest) for r in fleet):
            self.results.note(f"3 replicas: {digest[:19]}... was cached before its cold pulls; run refused")
            return
        urls = [fleet[i % len(fleet)].blob_url(repo, digest) for i in range(PULLS)]
        fetches0 = sum(r.metric("registry_proxy_blob_fetches_total", source="upstream") for r in fleet)
        read0, cpu0 = self.upstream.bytes_read(), sum(r.cpu_seconds() for r in fleet)
        try:
            aggregate = measure.simultaneous_pulls(urls, size)
        except MeasurementError as e:
            self.results.note(f"3 replicas: {str(e).splitlines()[0]}")
            return
        read = self.upstream.bytes_read_when_idle() - read0
        cpu = sum(r.cpu_seconds() for r in fleet) - cpu0
        fetches = sum(r.metric("registry_proxy_blob_fetches_total", source="upstream") for r in fleet) - fetches0
        if fetches != 1:
            self.results.note(f"3 replicas: {fetches:.0f} upstream fetches of {digest[:19]}... (expected: 1)")
        if record:
            self.results.note(f"3 replicas: one blob is {size / measure.MB:.1f} MB")
            self.results.add("shared_x8", "ours", aggregate)
            self.results.add("shared_x8_upstream_read", "ours", read / measure.MB)
            self.results.add("shared_x8_cpu", "ours", cpu)

    @staticmethod
    def _await(condition, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if condition():
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False
