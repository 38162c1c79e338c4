"""Reading docker-compose.yml with the line of every key, so a broken invariant points at it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kmsdet.errors import InputError

PathKey = tuple[str | int, ...]

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@dataclass
class ComposeFile:
    """The parsed compose document plus a map from key path to 1-based line."""

    path: Path
    data: dict[str, Any]
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, key: PathKey) -> int | None:
        """The line of ``key``, or of its nearest ancestor that has one."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services = self.data.get("services") or {}
        return services if isinstance(services, dict) else {}

    def environment(self, service: str) -> dict[str, str]:
        """A service's environment as a dict, whichever of the two Compose syntaxes it uses."""
        raw = self.services.get(service, {}).get("environment") or {}
        if isinstance(raw, list):
            pairs = (str(item).split("=", 1) for item in raw)
            return {p[0]: (p[1] if len(p) > 1 else "") for p in pairs}
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}

    def environment_path(self, service: str, key: str) -> PathKey:
        raw = self.services.get(service, {}).get("environment") or {}
        if isinstance(raw, list):
            for index, item in enumerate(raw):
                if str(item).split("=", 1)[0] == key:
                    return ("services", service, "environment", index)
        return ("services", service, "environment", key)


def load_compose(path: Path) -> ComposeFile:
    """Parse the compose file; YAML errors become InputError at the offending line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read compose file: {exc.strerror}", file=str(path)) from exc
    return parse_compose(text, path)


def parse_compose(text: str, path: Path) -> ComposeFile:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"compose file is not valid YAML: {getattr(exc, 'problem', exc)}",
                         file=str(path), line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None) from exc
    if not isinstance(data, dict):
        raise InputError("compose file must be a mapping with a 'services' key", file=str(path),
                         line=1)
    lines: dict[PathKey, int] = {}
    if node is not None:
        _index(node, (), lines)
    return ComposeFile(path=path, data=data, lines=lines)


def _index(node: yaml.Node, key: PathKey, out: dict[PathKey, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*key, str(key_node.value))
            out[child] = key_node.start_mark.line + 1
            _index(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*key, index)
            out[child] = item.start_mark.line + 1
            _index(item, child, out)


def is_pure_reference(value: str) -> bool:
    """True when value is exactly one ${VAR...} with no literal text around it."""
    return bool(VAR_REF.fullmatch(value.strip()))
