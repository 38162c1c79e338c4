"""What the sandbox's compose file must guarantee, checked before every `up`.

Each check is one small function returning issues; a user who edits docker-compose.yml into a
stack that would run insecurely (a port on 0.0.0.0, a literal password) or that the detection
engine cannot use (no saved-objects key) is stopped with the file and line of the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmsdet.errors import InputError
from kmsdet.sandbox.compose import ComposeFile, PathKey, is_pure_reference, load_compose
from kmsdet.sandbox.project import ELASTICSEARCH, KIBANA, SETUP

KIBANA_KEYS = {
    "xpack.encryptedSavedObjects.encryptionKey": "XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY",
    "xpack.security.encryptionKey": "XPACK_SECURITY_ENCRYPTIONKEY",
    "xpack.reporting.encryptionKey": "XPACK_REPORTING_ENCRYPTIONKEY",
}
ES_SECURITY = ("xpack.security.enabled", "xpack.security.http.ssl.enabled",
               "xpack.security.transport.ssl.enabled")
# Environment names whose value is a credential. Paths such as xpack.security.http.ssl.key
# are not: only names that end in a secret-ish word count.
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ENCRYPTION_?KEY)$|"
                          r"(password|secret|token|apiKey|encryptionKey)$")
_STACK_DEFAULT = re.compile(r"^(8|9)\.\d+\.\d+$")
_IMAGE_TAG = re.compile(r"^[^:]+:\$\{STACK_VERSION(?::-([^}]*))?\}$")
_ONE_SHOT_CONDITION = "service_completed_successfully"


@dataclass(frozen=True)
class ComposeIssue:
    code: str
    message: str
    path: PathKey
    hint: str


Check = Callable[[ComposeFile], Iterator[ComposeIssue]]


def _issue(code: str, message: str, path: PathKey, hint: str) -> ComposeIssue:
    return ComposeIssue(code=code, message=message, path=path, hint=hint)


def check_services_present(doc: ComposeFile) -> Iterator[ComposeIssue]:
    for name in (SETUP, ELASTICSEARCH, KIBANA):
        if name not in doc.services:
            yield _issue("missing-service", f"service '{name}' is missing", ("services",),
                         "restore it from the kmsdet repository's docker-compose.yml")


def check_security_on(doc: ComposeFile) -> Iterator[ComposeIssue]:
    if ELASTICSEARCH not in doc.services:
        return
    env = doc.environment(ELASTICSEARCH)
    for key in ES_SECURITY:
        if env.get(key, "").lower() != "true":
            yield _issue("security-off", f"{ELASTICSEARCH} must set {key}=true",
                         doc.environment_path(ELASTICSEARCH, key),
                         "the detection engine needs security (API keys) and TLS")


def check_setup_service(doc: ComposeFile) -> Iterator[ComposeIssue]:
    service = doc.services.get(SETUP)
    if service is None:
        return
    path: PathKey = ("services", SETUP)
    if not any(_volume_source(v) == "certs" for v in service.get("volumes") or []):
        yield _issue("setup-certs", "setup must write the certificates into the 'certs' volume",
                     (*path, "volumes"), "mount certs:/usr/share/elasticsearch/config/certs")
    script = _setup_script_text(doc, service)
    for needle, what in (("elasticsearch-certutil", "create the TLS certificates"),
                         ("kibana_system/_password", "set the kibana_system password")):
        if needle not in script:
            yield _issue("setup-steps", f"setup does not {what} ({needle} not found)",
                         (*path, "command"), "keep sandbox/setup.sh mounted and run by setup")
    if str(service.get("restart", "no")) != "no":
        yield _issue("setup-one-shot", "setup is a one-shot job and must not restart",
                     (*path, "restart"), 'set restart: "no"')


def check_kibana_keys(doc: ComposeFile) -> Iterator[ComposeIssue]:
    if KIBANA not in doc.services:
        return
    env = doc.environment(KIBANA)
    for setting, env_name in KIBANA_KEYS.items():
        name = env_name if env_name in env else setting
        if name not in env:
            yield _issue("kibana-key", f"kibana does not set {setting}",
                         ("services", KIBANA, "environment"),
                         f"add {env_name}: ${{SOME_KEY:?...}} with a stable 32+ char key")
        elif not is_pure_reference(env[name]):
            yield _issue("kibana-key", f"{setting} must come from .env as ${{VAR}}",
                         doc.environment_path(KIBANA, name), "never write keys in the file")


def check_no_literal_secret(doc: ComposeFile) -> Iterator[ComposeIssue]:
    for service in doc.services:
        for key, value in doc.environment(service).items():
            if _SECRET_NAME.search(key) and value and not is_pure_reference(value):
                yield _issue("literal-secret", f"{service}: {key} holds a literal value",
                             doc.environment_path(service, key),
                             f"write {key}: ${{VAR}} and put the value in .env")


def check_loopback_ports(doc: ComposeFile) -> Iterator[ComposeIssue]:
    for service, spec in doc.services.items():
        for index, port in enumerate(spec.get("ports") or []):
            if _host_ip(port) != "127.0.0.1":
                yield _issue("public-port", f"{service}: port {port!r} is not bound to 127.0.0.1",
                             ("services", service, "ports", index),
                             'publish as "127.0.0.1:${PORT}:CONTAINER_PORT"')


def check_healthchecks(doc: ComposeFile) -> Iterator[ComposeIssue]:
    one_shot = _one_shot_services(doc)
    for service, spec in doc.services.items():
        if service in one_shot:
            continue
        check = spec.get("healthcheck") or {}
        if not check.get("test") or check.get("disable"):
            yield _issue("no-healthcheck", f"{service} runs for good but has no healthcheck",
                         ("services", service), "add a healthcheck: `up` waits on it")


def check_kibana_depends_on(doc: ComposeFile) -> Iterator[ComposeIssue]:
    if KIBANA not in doc.services:
        return
    depends = doc.services[KIBANA].get("depends_on") or {}
    wanted = {SETUP: _ONE_SHOT_CONDITION, ELASTICSEARCH: "service_healthy"}
    for dependency, condition in wanted.items():
        actual = depends.get(dependency, {}).get("condition") if isinstance(depends, dict) else None
        if actual != condition:
            yield _issue("kibana-depends-on",
                         f"kibana must depend on {dependency} with condition {condition}",
                         ("services", KIBANA, "depends_on"),
                         f"depends_on: {{{dependency}: {{condition: {condition}}}}}")


def check_memory_limits(doc: ComposeFile) -> Iterator[ComposeIssue]:
    for service, spec in doc.services.items():
        deploy_limit = (((spec.get("deploy") or {}).get("resources") or {}).get("limits")
                        or {}).get("memory")
        if not spec.get("mem_limit") and not deploy_limit:
            yield _issue("no-memory-limit", f"{service} has no memory limit",
                         ("services", service), "add mem_limit: ${SOMETHING_MEM_LIMIT:-2g}")


def check_named_volumes(doc: ComposeFile) -> Iterator[ComposeIssue]:
    declared = set((doc.data.get("volumes") or {}).keys())
    for service, spec in doc.services.items():
        for index, volume in enumerate(spec.get("volumes") or []):
            source = _volume_source(volume)
            path: PathKey = ("services", service, "volumes", index)
            if source is None:
                yield _issue("anonymous-volume", f"{service}: anonymous volume {volume!r}", path,
                             "name it and declare it under top-level volumes:")
            elif source.startswith((".", "/", "~")):
                if not _read_only(volume):
                    yield _issue("writable-bind", f"{service}: bind mount {source} is writable",
                                 path, "data lives in named volumes; mount files with :ro")
            elif source not in declared:
                yield _issue("undeclared-volume", f"{service}: volume '{source}' not declared",
                             path, "declare it under top-level volumes:")


def check_stack_version(doc: ComposeFile) -> Iterator[ComposeIssue]:
    for service, spec in doc.services.items():
        image = str(spec.get("image", ""))
        if not image.startswith("docker.elastic.co/"):
            continue
        path: PathKey = ("services", service, "image")
        match = _IMAGE_TAG.match(image)
        if not match:
            yield _issue("stack-version", f"{service}: image tag must be ${{STACK_VERSION...}}",
                         path, "use image: ...:${STACK_VERSION:-9.x.y}")
        elif not _STACK_DEFAULT.match(match.group(1) or ""):
            yield _issue("stack-version", f"{service}: STACK_VERSION needs an 8.x/9.x default",
                         path, "write ${STACK_VERSION:-9.x.y}")


CHECKS: tuple[Check, ...] = (
    check_services_present,
    check_security_on,
    check_setup_service,
    check_kibana_keys,
    check_no_literal_secret,
    check_loopback_ports,
    check_healthchecks,
    check_kibana_depends_on,
    check_memory_limits,
    check_named_volumes,
    check_stack_version,
)


def check_compose(doc: ComposeFile) -> list[ComposeIssue]:
    return [issue for check in CHECKS for issue in check(doc)]


def ensure_valid(doc: ComposeFile) -> None:
    """Raise the first broken invariant as an InputError at its line in the compose file."""
    issues = check_compose(doc)
    if not issues:
        return
    first = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    raise InputError(f"{first.message}{more}", file=str(doc.path), line=doc.line_of(first.path),
                     field=".".join(str(p) for p in first.path), hint=first.hint)


def _one_shot_services(doc: ComposeFile) -> set[str]:
    """Services some other service waits to see *finish*: they are jobs, not daemons."""
    found: set[str] = set()
    for spec in doc.services.values():
        depends = spec.get("depends_on") or {}
        if isinstance(depends, dict):
            found.update(name for name, cond in depends.items()
                         if isinstance(cond, dict) and cond.get("condition") == _ONE_SHOT_CONDITION)
    return found


def _host_ip(port: Any) -> str | None:
    if isinstance(port, dict):
        return str(port.get("host_ip")) if port.get("host_ip") else None
    text = str(port)
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    # Split off the container side; what is left is HOST_IP:HOST_PORT or HOST_PORT.
    # ${VAR:-9200} contains a colon, so interpolation-aware splitting is needed.
    parts = re.split(r":(?![^{]*\})", text)
    return parts[0] if len(parts) == 3 else None


def _volume_source(volume: Any) -> str | None:
    if isinstance(volume, dict):
        source = volume.get("source")
        return str(source) if source else None
    parts = str(volume).split(":")
    return parts[0] if len(parts) > 1 else None


def _read_only(volume: Any) -> bool:
    if isinstance(volume, dict):
        return bool(volume.get("read_only"))
    parts = str(volume).split(":")
    return len(parts) > 2 and "ro" in parts[2].split(",")


def _setup_script_text(doc: ComposeFile, service: dict[str, Any]) -> str:
    """The setup command plus any script it mounts from the repository (sandbox/setup.sh)."""
    command = service.get("command") or ""
    text = " ".join(command) if isinstance(command, list) else str(command)
    for volume in service.get("volumes") or []:
        source = _volume_source(volume)
        if source and source.startswith("."):
            script = (doc.path.parent / source).resolve()
            if script.is_file():
                text += "\n" + script.read_text(encoding="utf-8", errors="replace")
    return text


def load_and_check(path: Path) -> ComposeFile:
    """Load docker-compose.yml and refuse it when an invariant is broken."""
    doc = load_compose(path)
    ensure_valid(doc)
    return doc
