"""The sandbox invariants: the repository's compose file keeps them, and each broken one is
reported with its code and the line it is on."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.errors import InputError
from kmsdet.sandbox.compose import load_compose, parse_compose
from kmsdet.sandbox.invariants import check_compose, ensure_valid, load_and_check
from tests.unit.sandbox.conftest import REPO


def test_repository_compose_file_keeps_every_invariant() -> None:
    assert check_compose(load_compose(REPO / "docker-compose.yml")) == []


# (text replaced in docker-compose.yml, its replacement, the issue code expected)
MUTATIONS = [
    ('xpack.security.enabled: "true"', 'xpack.security.enabled: "false"', "security-off"),
    ('xpack.security.http.ssl.enabled: "true"', 'xpack.security.http.ssl.enabled: "no"',
     "security-off"),
    ("      - certs:/usr/share/elasticsearch/config/certs\n      - ./sandbox",
     "      - ./sandbox", "setup-certs"),
    ('restart: "no"', "restart: always", "setup-one-shot"),
    ("      XPACK_REPORTING_ENCRYPTIONKEY: ${KIBANA_REPORTING_KEY:?run `kmsdet sandbox up` to "
     "generate it}\n", "", "kibana-key"),
    ("XPACK_SECURITY_ENCRYPTIONKEY: ${KIBANA_SECURITY_KEY:?run `kmsdet sandbox up` to "
     "generate it}", "XPACK_SECURITY_ENCRYPTIONKEY: 0123456789abcdef0123456789abcdef",
     "kibana-key"),
    ("ELASTIC_PASSWORD: ${ELASTIC_PASSWORD:?run `kmsdet sandbox up` or copy .env.example to "
     ".env}\n      bootstrap", "ELASTIC_PASSWORD: changeme\n      bootstrap", "literal-secret"),
    ('"127.0.0.1:${ES_PORT:-9200}:9200"', '"${ES_PORT:-9200}:9200"', "public-port"),
    ('"127.0.0.1:${KIBANA_PORT:-5601}:5601"', '"0.0.0.0:5601:5601"', "public-port"),
    ("condition: service_completed_successfully", "condition: service_started",
     "kibana-depends-on"),
    ("    mem_limit: ${KIBANA_MEM_LIMIT:-2g}\n", "", "no-memory-limit"),
    ("      - esdata01:/usr/share/elasticsearch/data",
     "      - /srv/es:/usr/share/elasticsearch/data", "writable-bind"),
    ("      - kibanadata:/usr/share/kibana/data", "      - kbn:/usr/share/kibana/data",
     "undeclared-volume"),
    ("kibana/kibana:${STACK_VERSION:-9.5.6}", "kibana/kibana:latest", "stack-version"),
    ("kibana/kibana:${STACK_VERSION:-9.5.6}", "kibana/kibana:${STACK_VERSION:-7.17.0}",
     "stack-version"),
]


@pytest.mark.parametrize(("old", "new", "code"), MUTATIONS, ids=[m[2] for m in MUTATIONS])
def test_each_broken_invariant_is_reported(old: str, new: str, code: str) -> None:
    text = (REPO / "docker-compose.yml").read_text()
    assert old in text, "the mutation no longer matches docker-compose.yml"
    doc = parse_compose(text.replace(old, new, 1), REPO / "docker-compose.yml")
    assert code in {issue.code for issue in check_compose(doc)}


def test_a_service_without_healthcheck_is_reported_unless_it_is_a_one_shot_job() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    start = text.index("    healthcheck:\n      # An unauthenticated")
    end = text.index("    restart: unless-stopped", start)
    doc = parse_compose(text[:start] + text[end:], REPO / "docker-compose.yml")
    issues = [i for i in check_compose(doc) if i.code == "no-healthcheck"]
    assert [i.path for i in issues] == [("services", "es01")]


def test_missing_setup_steps_are_found_by_reading_the_mounted_script(tmp_path: Path) -> None:
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "setup.sh").write_text("echo nothing to see\n")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text((REPO / "docker-compose.yml").read_text())
    codes = [i.code for i in check_compose(load_compose(compose))]
    assert codes == ["setup-steps", "setup-steps"]


def test_ensure_valid_points_at_the_offending_line() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    bad = text.replace('"127.0.0.1:${KIBANA_PORT:-5601}:5601"', '"5601:5601"')
    expected_line = bad.splitlines().index('      - "5601:5601"') + 1
    with pytest.raises(InputError) as caught:
        ensure_valid(parse_compose(bad, Path("docker-compose.yml")))
    assert caught.value.line == expected_line
    assert caught.value.field == "services.kibana.ports.0"
    assert "127.0.0.1" in (caught.value.hint or "")


def test_invalid_yaml_is_an_input_error_with_a_line(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  es01:\n    image: [unclosed\n")
    with pytest.raises(InputError) as caught:
        load_and_check(compose)
    assert caught.value.file == str(compose)
    assert caught.value.line is not None and caught.value.line >= 3


def test_environment_in_list_syntax_is_understood() -> None:
    doc = parse_compose(
        "services:\n  kibana:\n    environment:\n      - ELASTICSEARCH_PASSWORD=hunter22\n",
        Path("c.yml"))
    issues = [i for i in check_compose(doc) if i.code == "literal-secret"]
    assert [(i.path, doc.line_of(i.path)) for i in issues] == [
        (("services", "kibana", "environment", 0), 4)]
