"""The wheel works on its own: installed into a fresh virtualenv, far from the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from storage import migrate

REPO = Path(__file__).resolve().parents[1]


def run(*command: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, REPO, cwd=REPO)
    (wheel,) = dist.glob("alignbot-*.whl")

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    # The dependencies come from the test's own environment, seen through a plain path entry (which
    # leaves out its editable view of the source tree): what is checked is the wheel's own files,
    # without downloading and installing every dependency again.
    (site_packages,) = (environment / "lib").glob("python*/site-packages")
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(environment / "bin" / "pip", "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    imported = run(environment / "bin" / "python", "-c", "import bot; print(bot.__file__)", cwd=tmp_path)
    assert imported.stdout.startswith(str(site_packages))  # the wheel's copy, not the source tree
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    alignbot = environment / "bin" / "alignbot"

    assert "usage: alignbot" in run(alignbot, "--help", cwd=elsewhere).stdout
    assert '"command": "/align"' in run(alignbot, "manifest", cwd=elsewhere).stdout
    # The demo renders every kind of template in both languages and applies the migrations,
    # so it proves the wheel carries its templates, catalogs and migrations.
    demo = run(alignbot, "demo", "--output", elsewhere / "out", cwd=elsewhere)
    assert "alignbot is set up" in demo.stdout
    assert "وضعیت alignbot" in demo.stdout
    upgraded = run(alignbot, "db", "upgrade", cwd=elsewhere)
    assert upgraded.stdout.strip() == f"schema revision: {migrate.head_revision()}"
