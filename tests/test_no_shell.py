"""No user-supplied field may reach a shell (Clouddriver's CVE-2026-32604 ran ``sh -c`` on artifact fields).

Every subprocess in Gennaker's own code takes an argument list: this walks the source and refuses any call that
would hand a string to a shell (``shell=True``, ``os.system``, ``os.popen``, ``asyncio.create_subprocess_shell``,
``subprocess.getoutput``/``getstatusoutput``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("workflows", "activities", "api", "providers", "bakery", "integrations", "gennaker")
SHELL_CALLS = {
    ("os", "system"),
    ("os", "popen"),
    ("asyncio", "create_subprocess_shell"),
    ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
}


def sources() -> list[Path]:
    files = [ROOT / "worker.py"]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def shell_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and not keyword.value.value):
                found.append(f"line {node.lineno}: shell=")
        func = node.func
        named = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        if named and (func.value.id, func.attr) in SHELL_CALLS:  # type: ignore[attr-defined]
            found.append(f"line {node.lineno}: {func.value.id}.{func.attr}")  # type: ignore[attr-defined]
    return found


def test_the_scan_finds_what_it_looks_for() -> None:
    code = "import os, subprocess\nsubprocess.run(cmd, shell=True)\nos.system(x)\nsubprocess.run(['a'], shell=False)\n"
    assert shell_uses(ast.parse(code)) == ["line 2: shell=", "line 3: os.system"]


def test_no_subprocess_goes_through_a_shell() -> None:
    files = sources()
    assert len(files) > 100  # the walk found the code
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in files
        if (uses := shell_uses(ast.parse(path.read_text(), filename=str(path))))
    }
    assert offenders == {}
