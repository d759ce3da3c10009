"""The tree keeps its shape: layers import downwards only, discord.py stays in bot/discord/, the
dry-run parser never loads torch, and no two modules import each other in a circle."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bot"

# Which top-level packages of `bot` each package must never import (directly or lazily).
FORBIDDEN = {
    "prompt": {"discord", "engine.engine", "jobs", "governance", "store", "cli", "web"},
    "engine": {"discord", "jobs", "governance", "store", "cli", "web"},
    "jobs": {"discord", "governance", "cli", "web"},
    "store": {"discord", "cli", "web"},
    "governance": {"discord", "cli", "web"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path) -> set[str]:
    """Every module this file imports at run time (module level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            found.update(submodules)
            # `from package import submodule` depends on the submodule, not on the package's names.
            if not all(name in MODULES for name in submodules):
                found.add(node.module)
    return found


IMPORTS = {name: imports_of(path) for name, path in MODULES.items()}


def internal(imported: set[str]) -> set[str]:
    return {name for name in imported if name in MODULES and name != "bot"}


def test_discord_is_imported_only_under_bot_discord() -> None:
    """discord.py is the Discord front's business alone."""
    offenders = sorted(
        name
        for name, imported in IMPORTS.items()
        if not name.startswith("bot.discord")
        and any(item == "discord" or item.startswith("discord.") for item in imported)
    )
    assert offenders == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downwards_only(package: str) -> None:
    """prompt, engine, jobs, store and governance never reach up into the layers above them."""
    bad = []
    for name, imported in IMPORTS.items():
        if not name.startswith(f"bot.{package}"):
            continue
        for item in imported:
            for forbidden in FORBIDDEN[package]:
                if item == f"bot.{forbidden}" or item.startswith(f"bot.{forbidden}."):
                    bad.append(f"{name} imports {item}")
    assert bad == []


def test_no_import_cycles() -> None:
    """No module reaches itself through the modules it imports (lazy imports count)."""
    graph = {name: internal(imported) - {name} for name, imported in IMPORTS.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles: " + "; ".join(" → ".join(cycle) for cycle in cycles)


def test_the_dry_run_parser_loads_no_torch(tmp_path: Path) -> None:
    """`python -m bot parse` answers without importing torch, diffusers or discord."""
    script = (
        "import sys\n"
        "from bot.cli import main\n"
        "code = main(['--env-file', 'none.env', 'parse', 'a red fox --ar 16:9 --no text'])\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers', 'discord') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin", "MODEL": "tiny"},
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert '"jobs"' in result.stdout


# ---- bot/store/: all SQL, split by concern ------------------------------------------------------

STORE_MODULES = ("database", "jobs", "governance", "web", "repository")
STORE_MAX_LINES = 400
# A string that reads as a statement: what only bot/store/ may hold.
SQL_TEXT = re.compile(
    r"^\s*(SELECT\b.*\bFROM|INSERT\b.*\bINTO|UPDATE\b.*\bSET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|PRAGMA)\b",
    re.S,
)


def test_the_store_is_split_by_concern_into_small_modules() -> None:
    """bot/store/ keeps one module per concern, none of them growing into a new 800-line file."""
    assert {f"bot.store.{name}" for name in STORE_MODULES} <= set(MODULES)
    too_long = {
        name: lines
        for name, path in MODULES.items()
        if name.startswith("bot.store") and (lines := len(path.read_text().splitlines())) > STORE_MAX_LINES
    }
    assert too_long == {}


def test_sql_lives_only_in_bot_store() -> None:
    """No SQL statement text and no aiosqlite import outside bot/store/."""
    offenders = []
    for name, path in MODULES.items():
        if name.startswith("bot.store"):
            continue
        if "aiosqlite" in IMPORTS[name]:
            offenders.append(f"{name} imports aiosqlite")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value):
                offenders.append(f"{name}:{node.lineno} {node.value[:40]!r}")
    assert offenders == []


def test_repository_still_answers_every_call_the_code_makes() -> None:
    """Every `repository.x` / `store.x` / `Repository.x` the bot uses exists on the one handle."""
    from bot.store.repository import Repository

    used: dict[str, str] = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            holder = node.value
            base = holder.attr if isinstance(holder, ast.Attribute) else getattr(holder, "id", None)
            if base in ("repository", "_repository", "store", "Repository"):
                used.setdefault(node.attr, name)
    assert len(used) > 40, "the walk found too few calls: it no longer sees the callers"
    missing = {attr: caller for attr, caller in used.items() if not hasattr(Repository, attr)}
    assert missing == {}
