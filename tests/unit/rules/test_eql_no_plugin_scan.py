"""Linting or testing an EQL rule never runs code found beside it.

The eql package's first parse imports every module named ``eql_*`` on sys.path; ``python -m
kmsdet`` puts the current directory there, so a cloned rule repository could plant one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parents[3] / "rules" / "aws_kms"
RULE = "impact_kms_key_policy_replaced_then_key_disabled_or_deleted"


@pytest.mark.parametrize("command", [["lint"], ["test"]])
def test_an_eql_module_in_the_working_directory_is_not_imported(tmp_path: Path,
                                                                 command: list[str]) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for suffix in (".toml", ".cases.toml"):
        shutil.copy(PACK / f"{RULE}{suffix}", rules / f"{RULE}{suffix}")
    marker = tmp_path / "planted-code-ran"
    (tmp_path / "eql_planted.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kmsdet", *command, "rules"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    assert not marker.exists()
