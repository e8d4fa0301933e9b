"""Writes OCI image layouts by hand and pushes them to the upstream with skopeo.

Layers are uncompressed tars of one file of os.urandom() bytes, so every blob is
incompressible and unique: a proxy can neither shortcut it nor have seen it before.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tarfile

MIB = 1 << 20
_CHUNK = 4 * MIB
_TAR_BLOCK = 512

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


class Layout:
    """An OCI image layout on disk (oci-layout, index.json, blobs/sha256/...)."""

    def __init__(self, root):
        self.root = root
        self.blob_dir = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blob_dir, exist_ok=True)
        with open(os.path.join(root, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self._index = []

    def _put_bytes(self, data, media_type):
        hexd = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.blob_dir, hexd), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + hexd, "size": len(data)}

    def random_layer(self, blob_size, file_name="data.bin"):
        """Writes a tar layer whose blob is exactly blob_size bytes (a multiple of 512)."""
        if blob_size % _TAR_BLOCK or blob_size < 4 * _TAR_BLOCK:
            raise ValueError(f"blob_size: {blob_size} (expected: a multiple of 512, >= 2048)")
        payload = blob_size - 3 * _TAR_BLOCK  # one header block + two end-of-archive blocks
        info = tarfile.TarInfo(file_name)
        info.size, info.mode, info.mtime = payload, 0o644, 0
        header = info.tobuf(format=tarfile.USTAR_FORMAT)
        sha = hashlib.sha256()
        tmp = os.path.join(self.root, "layer.tmp")
        with open(tmp, "wb") as f:
            for piece in _random_pieces(payload, header, b"\0" * (2 * _TAR_BLOCK)):
                sha.update(piece)
                f.write(piece)
        hexd = sha.hexdigest()
        os.rename(tmp, os.path.join(self.blob_dir, hexd))
        return {"mediaType": OCI_LAYER_TAR, "digest": "sha256:" + hexd, "size": blob_size}

    def image(self, tag, layers):
        """Adds an image with these layers under ref name tag; returns its manifest descriptor."""
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        }
        config_desc = self._put_bytes(_canonical(config), OCI_CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc, "layers": layers}
        desc = self._put_bytes(_canonical(manifest), OCI_MANIFEST)
        self._index.append(dict(desc, annotations={"org.opencontainers.image.ref.name": tag}))
        return desc

    def close(self):
        with open(os.path.join(self.root, "index.json"), "wb") as f:
            f.write(_canonical({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                "manifests": self._index}))


def _random_pieces(payload, header, trailer):
    yield header
    left = payload
    while left:
        n = min(_CHUNK, left)
        yield os.urandom(n)
        left -= n
    yield trailer


def _ref_name(repo, tag):
    """The layout's ref.name for repo:tag; one layout holds every image, so names must be unique."""
    return repo.replace("/", "-") + "-" + tag


def _canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# Fresh layers every server pulls once while priming, so our JIT has compiled the cold path
# (receive, hash, write, tail) before the cold pulls are measured, as a long-running mirror has.
WARM_COLD_COUNT = 4
WARM_COLD_MIB = 64


class ImageSet:
    """The images the benchmark needs, described by repo/tag/digests after generation."""

    def __init__(self, big_mib, small_layers, cold_count, small_cold_count, shared_count=0, shared_only=False):
        self.big_mib = big_mib
        self.small_layers = small_layers
        self.cold_count = cold_count
        self.small_cold_count = small_cold_count
        self.shared_count = shared_count
        self.shared_only = shared_only  # only what the shared-form rows need: warm-up and shared images
        self.big = None          # (repo, tag, manifest_digest, layer_digest, layer_size)
        self.warmup = None       # (repo, tag, manifest_digest, layer_digest, layer_size)
        self.warm_cold = []      # [(repo, tag, manifest_digest, layer_digest, layer_size)]
        self.small = None        # (repo, tag, manifest_digest)
        self.cold = []           # [(repo, tag, manifest_digest, layer_digest, layer_size)]
        self.small_cold = []     # [(repo, tag, manifest_digest)]
        self.shared = []         # [(repo, tag, manifest_digest, layer_digest, layer_size)]

    def generate_and_push(self, work_dir, registry, log):
        """Writes one layout with every image and copies each tag to the registry (host:port)."""
        layout = Layout(os.path.join(work_dir, "layout"))
        pushes = []

        def big_image(repo, tag, mib):
            layer = layout.random_layer(mib * MIB)
            m = layout.image(_ref_name(repo, tag), [layer])
            pushes.append((repo, tag))
            return (repo, tag, m["digest"], layer["digest"], layer["size"])

        if self.shared_only:
            log(f"generating images: {self.shared_count} x {self.big_mib} MiB random layers (shared form), "
                f"{WARM_COLD_COUNT} x {WARM_COLD_MIB} MiB warm-up layers")
        else:
            log(f"generating images: 1+{self.cold_count}+{self.shared_count} x {self.big_mib} MiB random layers, "
                f"{WARM_COLD_COUNT} x {WARM_COLD_MIB} MiB warm-up layers, "
                f"{1 + self.small_cold_count} x {self.small_layers}-layer images")
        if not self.shared_only:
            self.big = big_image("bench/big", "v1", self.big_mib)
        self.warmup = big_image("bench/warmup", "v1", 16)
        self.warm_cold = [big_image("bench/warmcold", f"w{i}", WARM_COLD_MIB) for i in range(WARM_COLD_COUNT)]
        self.shared = [big_image("bench/shared", f"s{i}", self.big_mib) for i in range(self.shared_count)]
        if self.shared_only:
            self._push(layout, pushes, registry, log)
            return
        self.cold = [big_image("bench/cold", f"c{i}", self.big_mib) for i in range(self.cold_count)]
        sizes_kib = [4, 16, 64, 256]
        for i in range(1 + self.small_cold_count):
            tag = "v1" if i == 0 else f"cold{i - 1}"
            layers = [layout.random_layer(sizes_kib[j % len(sizes_kib)] * 1024, f"f{j}.bin")
                      for j in range(self.small_layers)]
            m = layout.image(_ref_name("bench/small", tag), layers)
            pushes.append(("bench/small", tag))
            entry = ("bench/small", tag, m["digest"])
            if i == 0:
                self.small = entry
            else:
                self.small_cold.append(entry)
        self._push(layout, pushes, registry, log)

    @staticmethod
    def _push(layout, pushes, registry, log):
        layout.close()
        log(f"pushing {len(pushes)} tags to {registry} with skopeo --preserve-digests")
        for repo, tag in pushes:
            subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--preserve-digests",
                            f"oci:{layout.root}:{_ref_name(repo, tag)}", f"docker://{registry}/{repo}:{tag}"],
                           check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(layout.root)  # the upstream holds its own copy; free the page cache for it
