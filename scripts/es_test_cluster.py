#!/usr/bin/env python3
"""Start, find and stop the real Elasticsearch that integration tests and people run against.

No Docker engine runs on the project's machines, but Maven Central is reachable, and Elastic
publishes a runnable test distribution of Elasticsearch there (group
org.elasticsearch.distribution.integ-test-zip). This script fetches it with Maven (cached in
~/.m2), unpacks it once under a cache folder outside the repository, and starts one small node
on 127.0.0.1 with a free port, a throw-away data path and a 512 MiB heap. The URL and pid go to
a state file (``.kmsdet/es.json`` in the repository, git-ignored) that the pytest fixture and
kmsdet read, so every consumer finds the same node and ``up``/``down`` are idempotent.

Standard library only: it must run before the project's virtualenv exists (CI, ``make es-up``).

    python3 scripts/es_test_cluster.py up      # start (or reuse) and print the URL
    python3 scripts/es_test_cluster.py url     # print the URL of the running node
    python3 scripts/es_test_cluster.py down    # stop it and remove its data

Exit codes: 0 ok, 1 failure, 3 a prerequisite (a JDK, Maven) is missing - the fixture turns
3 into a skip on a developer machine and into a failure in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

GROUP = "org.elasticsearch.distribution.integ-test-zip"
ARTIFACT = "elasticsearch"
# Newest integ-test-zip on Maven Central when this was written (9.x is not published there).
DEFAULT_VERSION = "8.19.21"
HEAP = "512m"
HEALTH_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
# The node refuses to run as root; when we are root we hand it to this unprivileged account.
RUN_AS_WHEN_ROOT = "nobody"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_MISSING_PREREQUISITE = 3

REPO_ROOT = Path(__file__).resolve().parent.parent


class Problem(Exception):
    """A failure explained in one line; ``code`` becomes the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class State:
    """What ``up`` leaves behind for ``url``, ``down``, the test fixture and kmsdet itself."""

    url: str
    pid: int
    version: str
    distribution: str
    run_dir: str
    java_home: str
    started_at: float


# --------------------------------------------------------------------------- paths and state

def state_path() -> Path:
    return Path(os.environ.get("KMSDET_ES_STATE", REPO_ROOT / ".kmsdet" / "es.json"))


def cache_root() -> Path:
    """Where unpacked distributions live: outside the repo, readable by the node's account.

    Root's home is usually private (0700), and as root the node runs as ``nobody``, which could
    not read an install under it, so root uses /var/cache instead of ~/.cache.
    """
    if "KMSDET_ES_CACHE" in os.environ:
        return Path(os.environ["KMSDET_ES_CACHE"])
    if os.geteuid() == 0:
        return Path("/var/cache/kmsdet/es")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kmsdet" / "es"


def read_state() -> State | None:
    path = state_path()
    try:
        return State(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_state(state: State) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialise up/down: several test sessions may ask for the node at the same moment."""
    lock = state_path().with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- health

def health(url: str, timeout: float = 2.0) -> str | None:
    """The cluster's health colour, or None when nothing healthy answers at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as resp:
            return str(json.load(resp).get("status"))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_our_node(state: State) -> bool:
    """True when ``state.pid`` is still the node we started (pids get reused)."""
    if not pid_alive(state.pid):
        return False
    try:
        cmdline = Path(f"/proc/{state.pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # no /proc: trust the pid
    return state.run_dir in cmdline


def running_state() -> State | None:
    state = read_state()
    if state and is_our_node(state) and health(state.url) in ("green", "yellow"):
        return state
    return None


# --------------------------------------------------------------------------- prerequisites

def java_major(home: Path) -> int | None:
    """The major version of the JDK at ``home``, read from its release file (no JVM start)."""
    try:
        text = (home / "release").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', text, re.MULTILINE)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java(min_major: int) -> Path:
    """A JDK new enough for the node: ES_JAVA_HOME if set, else the oldest fitting one found.

    The oldest fitting JDK is preferred because a distribution is tested most on the JDKs of its
    own time; Elasticsearch 8.x runs on 17+, 9.x needs 21+.
    """
    explicit = os.environ.get("ES_JAVA_HOME")
    if explicit:
        major = java_major(Path(explicit))
        if major is None or major < min_major or not (Path(explicit) / "bin" / "java").exists():
            raise Problem(f"ES_JAVA_HOME={explicit} is not a JDK {min_major}+",
                          EXIT_MISSING_PREREQUISITE)
        return Path(explicit)
    candidates: set[Path] = set()
    if os.environ.get("JAVA_HOME"):
        candidates.add(Path(os.environ["JAVA_HOME"]))
    jvm_dir = Path("/usr/lib/jvm")
    if jvm_dir.is_dir():
        candidates.update(p.resolve() for p in jvm_dir.iterdir() if p.is_dir())
    on_path = shutil.which("java")
    if on_path:
        candidates.add(Path(on_path).resolve().parent.parent)
    fitting = sorted(
        (major, str(home)) for home in candidates
        if (major := java_major(home)) is not None and major >= min_major
        and (home / "bin" / "java").exists()
    )
    if not fitting:
        raise Problem(f"no JDK {min_major}+ found (set ES_JAVA_HOME)", EXIT_MISSING_PREREQUISITE)
    return Path(fitting[0][1])


def m2_repository() -> Path:
    return Path(os.environ.get("KMSDET_M2_REPO", Path.home() / ".m2" / "repository"))


def fetch_zip(version: str) -> Path:
    """The distribution zip in the local Maven repository, fetched with mvn when missing."""
    zip_path = (m2_repository() / GROUP.replace(".", "/") / ARTIFACT / version
                / f"{ARTIFACT}-{version}.zip")
    if zip_path.is_file():
        return zip_path
    mvn = shutil.which("mvn")
    if not mvn:
        raise Problem("mvn not found: cannot fetch the Elasticsearch test distribution",
                      EXIT_MISSING_PREREQUISITE)
    log(f"fetching {GROUP}:{ARTIFACT}:{version}:zip with mvn")
    cmd = [mvn, "-B", "-q", "dependency:get", f"-Dartifact={GROUP}:{ARTIFACT}:{version}:zip",
           "-Dtransitive=false"]
    if "KMSDET_M2_REPO" in os.environ:
        cmd.append(f"-Dmaven.repo.local={m2_repository()}")
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not zip_path.is_file():
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise Problem(f"mvn could not fetch Elasticsearch {version}: " + " | ".join(tail))
    return zip_path


def unpack(zip_path: Path, version: str) -> Path:
    """The unpacked distribution, extracted once per version (atomically, by rename)."""
    home = cache_root() / version / f"elasticsearch-{version}"
    if (home / "bin" / "elasticsearch").is_file():
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=home.parent))
    log(f"unpacking {zip_path.name} to {home.parent}")
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = archive.extract(info, staging)
            mode = (info.external_attr >> 16) & 0o777
            if mode:  # zipfile drops Unix modes; the launch scripts need their exec bits
                os.chmod(target, mode)
    extracted = staging / f"elasticsearch-{version}"
    try:
        extracted.rename(home)
    except OSError:
        if not (home / "bin" / "elasticsearch").is_file():
            raise
    shutil.rmtree(staging, ignore_errors=True)
    for path in (cache_root(), cache_root() / version, home):
        path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH
                   | stat.S_IXOTH)
    return home


# --------------------------------------------------------------------------- start / stop

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_settings(home: Path, run_dir: Path, port: int) -> list[str]:
    settings = {
        "cluster.name": "kmsdet-test",
        "node.name": "kmsdet-test-node",
        "discovery.type": "single-node",
        "network.host": "127.0.0.1",
        "http.port": str(port),
        "transport.port": str(free_port()),
        "path.data": str(run_dir / "data"),
        "path.logs": str(run_dir / "logs"),
        # Tiny shared disks must not flip indices to read-only mid-test.
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    if (home / "modules" / "x-pack-security").is_dir():
        # The test node listens on loopback only and holds synthetic data: plain HTTP, no users.
        settings["xpack.security.enabled"] = "false"
    return [arg for key, value in settings.items() for arg in ("-E", f"{key}={value}")]


def prepare_run_dir(home: Path) -> tuple[Path, pwd.struct_passwd | None]:
    """A fresh temp dir with config, data, logs and tmp, owned by the node's account."""
    run_dir = Path(tempfile.mkdtemp(prefix="kmsdet-es-"))
    shutil.copytree(home / "config", run_dir / "config")
    for sub in ("data", "logs", "tmp"):
        (run_dir / sub).mkdir()
    account = pwd.getpwnam(RUN_AS_WHEN_ROOT) if os.geteuid() == 0 else None
    if account is not None:
        for path in [run_dir, *run_dir.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
    run_dir.chmod(0o755)
    return run_dir, account


def start(version: str) -> State:
    min_java = 21 if int(version.split(".")[0]) >= 9 else 17
    java_home = find_java(min_java)
    home = unpack(fetch_zip(version), version)
    run_dir, account = prepare_run_dir(home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pid_file = run_dir / "es.pid"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(run_dir),
        "ES_JAVA_HOME": str(java_home),
        "ES_PATH_CONF": str(run_dir / "config"),
        "ES_TMPDIR": str(run_dir / "tmp"),
        "ES_JAVA_OPTS": f"-Xms{HEAP} -Xmx{HEAP}",
    }
    cmd = [str(home / "bin" / "elasticsearch"), "-d", "-p", str(pid_file),
           *node_settings(home, run_dir, port)]
    log(f"starting Elasticsearch {version} on {url} (JDK {java_home}, heap {HEAP})")
    with open(run_dir / "launcher.log", "wb") as launcher_log:
        result = subprocess.run(
            cmd, env=env, cwd=run_dir, stdout=launcher_log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, check=False,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
    if result.returncode != 0 or not pid_file.is_file():
        detail = tail_text(run_dir / "launcher.log")
        shutil.rmtree(run_dir, ignore_errors=True)
        raise Problem(f"Elasticsearch did not start (exit {result.returncode}): {detail}")
    state = State(url=url, pid=int(pid_file.read_text().strip()), version=version,
                  distribution=f"{GROUP}:{ARTIFACT}", run_dir=str(run_dir),
                  java_home=str(java_home), started_at=time.time())
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while health(url) not in ("green", "yellow"):
        if not pid_alive(state.pid) or time.monotonic() > deadline:
            detail = tail_text(run_dir / "logs" / "kmsdet-test.log")
            stop(state)
            raise Problem(f"Elasticsearch did not become healthy at {url}: {detail}")
        time.sleep(0.5)
    return state


def stop(state: State) -> None:
    """Stop the node we started (only that pid) and remove its data."""
    if is_our_node(state):
        os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while pid_alive(state.pid) and time.monotonic() < deadline:
            time.sleep(0.25)
        if pid_alive(state.pid):
            os.kill(state.pid, signal.SIGKILL)
    run_dir = Path(state.run_dir)
    if run_dir.name.startswith("kmsdet-es-"):
        shutil.rmtree(run_dir, ignore_errors=True)


def tail_text(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return f"(no log at {path})"
    return " | ".join(text[-lines:]) or "(empty log)"


def log(message: str) -> None:
    print(f"es-test-cluster: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- commands

def cmd_up(version: str) -> int:
    with locked():
        state = running_state()
        if state is None:
            stale = read_state()
            if stale is not None:
                stop(stale)
                state_path().unlink(missing_ok=True)
            try:
                state = start(version)
            except Problem as problem:
                if problem.code == EXIT_MISSING_PREREQUISITE:
                    raise
                # The free port may have been taken between choosing and binding it.
                log(f"{problem}; retrying once")
                state = start(version)
            write_state(state)
        elif state.version != version:
            log(f"reusing running Elasticsearch {state.version} (asked for {version})")
    print(state.url)
    return EXIT_OK


def cmd_down() -> int:
    with locked():
        state = read_state()
        if state is None:
            log("no test cluster recorded; nothing to stop")
            return EXIT_OK
        stop(state)
        state_path().unlink(missing_ok=True)
    log(f"stopped Elasticsearch at {state.url}")
    return EXIT_OK


def cmd_url() -> int:
    state = running_state()
    if state is None:
        log("no healthy test cluster; run: python3 scripts/es_test_cluster.py up")
        return EXIT_FAILED
    print(state.url)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "url"])
    parser.add_argument("--version", default=os.environ.get("KMSDET_ES_VERSION", DEFAULT_VERSION),
                        help=f"integ-test-zip version (default {DEFAULT_VERSION})")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(args.version)
        if args.command == "down":
            return cmd_down()
        return cmd_url()
    except Problem as problem:
        log(f"error: {problem}")
        return problem.code


if __name__ == "__main__":
    sys.exit(main())
