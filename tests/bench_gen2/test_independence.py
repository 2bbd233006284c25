"""The second generator shares no code with ``tiemchung synth`` (issue 16, point 5): not by a
direct import, and not through anything it imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

GEN2 = Path(__file__).resolve().parents[2] / "bench" / "gen2"


def test_no_gen2_module_imports_synth() -> None:
    for path in sorted(GEN2.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.startswith("tiemchung.synth") for n in names), (path.name, names)


def test_generating_loads_no_synth_module(tmp_path: Path) -> None:
    """Generate a small set (and a FEBRL one, and score nothing) in a fresh interpreter, then
    list the ``tiemchung`` modules it loaded: none may be ``tiemchung.synth``."""
    code = (
        "import json, sys\n"
        "from bench.gen2 import generate\n"
        "from bench.gen2.febrl import load\n"
        "from bench.gen2 import evaluate, splink_dedupe\n"
        f"generate(300, 5, {str(tmp_path / 'g')!r})\n"
        f"load('febrl1', {str(tmp_path / 'f')!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tiemchung'))))\n"
    )
    root = GEN2.parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "tiemchung.identity" in loaded  # the facts it is allowed to use
    assert not [m for m in loaded if m.startswith("tiemchung.synth")], loaded
