"""The layer contracts in pyproject.toml hold, and they do catch a violation: a copy of the tree with one
forbidden import added fails `lint-imports`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "message_templates")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages and the contracts, copied where an import can be added without touching the repo."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(module: Path, statement: str) -> None:
    source = module.read_text(encoding="utf-8")
    module.write_text(
        source.replace(
            "from __future__ import annotations\n", f"from __future__ import annotations\n\n{statement}\n", 1
        )
    )


def test_the_contracts_hold(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        ("bot/domain/scoring.py", "import sqlalchemy  # noqa", "The domain is pure"),
        ("bot/domain/scoring.py", "import storage.db  # noqa", "The domain is pure"),
        ("storage/pulses.py", "import bot.services.pulses  # noqa", "Storage knows only the domain"),
        ("bot/services/pulses.py", "import handlers.common  # noqa", "Layers, each"),
        ("bot/jobs/digests.py", "import bot.slack.rendering  # noqa", "Only the Slack side renders"),
        ("bot/domain/schedule.py", "import bot.domain.cadence  # noqa", "No import cycles"),
        ("bot/sandbox/http.py", "import bot.services.pulses  # noqa", "The sandbox stands alone"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree: Path, module: str, statement: str, contract: str
) -> None:
    add_import(tree / module, statement)
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(line.startswith(contract) for line in broken), result.stdout
