"""The wheel ships the grammars, and CI runs exactly the README's test command."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    test_command = next(b.strip() for b in blocks if "pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_wheel_ships_grammars_and_the_runner(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, timeout=600)
    (wheel,) = tmp_path.glob("tinyfuzz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tinyfuzz/_data/strategies/tinypy.bnf" in names
    assert "tinyfuzz/execution/_runner.py" in names and "tinyfuzz/execution/_node_runner.mjs" in names
    assert {f"tinyfuzz/_data/targets/{t}.toml" for t in ("cpython", "pypy", "micropython", "pyodide")} <= names
    assert "tinyfuzz/_data/strategies/python.bnf" in names
    assert any(n.endswith("entry_points.txt") for n in names)
