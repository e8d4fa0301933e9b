"""Our container image for the first-minute rows (--image): an engine to run it in, and the image.

`--image IMAGE` uses an image the engine at DOCKER_HOST already holds. `--image build` makes one
from the jar under test, as docker/test-image.sh does (its checks included), in the engine at
DOCKER_HOST or, when none answers, in a private engine started in the work directory
(docker/private-dockerd.sh) and stopped at the end.
"""
import os
import subprocess

BUILT_TAG = "local.test/registry-proxy:bench"


class ContainerImage:
    def __init__(self, root, work, log):
        self.root = root
        self.engine_dir = os.path.join(work, "dockerd")
        self.log = log
        self.started_engine = False

    def prepare(self, wanted, jar):
        """The image to run, or (None, reason) when there is none to run here."""
        if not self._engine_answers() and not self._start_engine():
            return None, "no Docker engine answers at DOCKER_HOST and a private one would not start"
        if wanted != "build":
            if self._docker("image", "inspect", wanted).returncode != 0:
                return None, f"the engine holds no image {wanted}"
            return wanted, None
        self.log(f"building {BUILT_TAG} from {jar} with docker/test-image.sh")
        res = subprocess.run([os.path.join(self.root, "docker", "test-image.sh")], capture_output=True, text=True,
                             env=dict(os.environ, KEEP_IMAGE="1", PROXY_IMAGE=BUILT_TAG, PROXY_JAR=jar))
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["?"])[-1]
            return None, f"docker/test-image.sh exited with {res.returncode}: {last}"
        return BUILT_TAG, None

    def close(self):
        if self.started_engine:
            subprocess.run([os.path.join(self.root, "docker", "private-dockerd.sh"), "stop", self.engine_dir],
                           capture_output=True)
            self.started_engine = False

    def _engine_answers(self):
        return self._docker("version").returncode == 0

    def _start_engine(self):
        res = subprocess.run([os.path.join(self.root, "docker", "private-dockerd.sh"), "start", self.engine_dir],
                             capture_output=True, text=True)
        out = res.stdout.strip()
        if res.returncode != 0 or not out.startswith("DOCKER_HOST="):
            return False
        os.environ["DOCKER_HOST"] = out.split("=", 1)[1]  # for every docker command from here on
        self.started_engine = True
        self.log(f"started a private Docker engine: {out}")
        return True

    @staticmethod
    def _docker(*argv):
        try:
            return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return subprocess.CompletedProcess(argv, 1, "", str(e))
