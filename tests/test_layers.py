"""The one-way layering of STYLE.md, enforced by import-linter contracts in
pyproject.toml (monitor -> alerts -> db -> propagators; nothing imports
monitor or dashboard; the core imports no SQL, scheduler or UI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 4 kept, 0 broken" in proc.stdout
