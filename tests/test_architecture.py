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
    "jobs": {"discord", "governance", "store", "cli", "web"},
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


# ---- fronts speak to services; one composition root ---------------------------------------------

FRONTS = ("bot.discord", "bot.web", "bot.cli")
STORE_CALL = re.compile(r"\b(repository|store)\.[a-z_]+\(|\.repository\b")
MAX_MODULE_LINES = 500


def _in(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def all_imports_of(path: Path) -> set[str]:
    """Like `imports_of`, TYPE_CHECKING imports included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def store_use_in_fronts() -> dict[str, list[str]]:
    """Front modules → their `bot.store` imports and repository/store calls."""
    found: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        if not _in(name, FRONTS):
            continue
        uses = [f"imports {item}" for item in sorted(all_imports_of(path)) if _in(item, ("bot.store",))]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if STORE_CALL.search(line):
                uses.append(f"{number}: {line.strip()}")
        if uses:
            found[name] = uses
    return found


def test_fronts_never_touch_the_store() -> None:
    """bot/discord, bot/web and bot/cli: no bot.store import and no repository/store call at all."""
    assert store_use_in_fronts() == {}


def test_new_jobs_are_built_only_by_governance_and_jobs() -> None:
    """`NewJob(` appears only in bot/governance and bot/jobs: every front goes through Admission."""
    offenders = [
        name
        for name, path in MODULES.items()
        if not _in(name, ("bot.governance", "bot.jobs")) and "NewJob(" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_no_module_in_bot_is_over_500_lines() -> None:
    """Modules stay readable: none over 500 lines."""
    too_long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_discord_does_not_import_the_web_app() -> None:
    """bot/discord reaches the web app only through the ports in bot/jobs/ports.py."""
    bad = sorted(
        f"{name} imports {item}"
        for name, imported in IMPORTS.items()
        if _in(name, ("bot.discord",))
        for item in imported
        if _in(item, ("bot.web",))
    )
    assert bad == []


def package_graph() -> dict[str, set[str]]:
    """bot's top-level packages (and modules) → the ones they import at run time."""

    def top(name: str) -> str:
        return ".".join(name.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for name, imported in IMPORTS.items():
        if name == "bot":
            continue
        graph.setdefault(top(name), set()).update(
            top(item) for item in internal(imported) if top(item) != top(name)
        )
    return graph


def test_jobs_and_store_do_not_import_each_other() -> None:
    """bot/store may know the job models; bot/jobs must not import bot/store (the root wires them)."""
    graph = package_graph()
    assert not ("bot.store" in graph.get("bot.jobs", set()) and "bot.jobs" in graph.get("bot.store", set()))


def test_no_import_cycles_between_packages() -> None:
    """No package of bot reaches itself through the packages it imports."""
    graph = package_graph()
    cycles = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for target in sorted(graph.get(node, ())):
                if target == start:
                    cycles.append(" → ".join([*path, target]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    assert cycles == []


def test_one_composition_root_starts_every_front() -> None:
    """`python -m bot run` goes through bot/app.py; the fronts' starters do not open the store or
    build the job service themselves."""
    assert "bot.app" in IMPORTS["bot.cli.run"]
    for name in ("bot.discord.runner", "bot.web.serve", "bot.cli.run"):
        assert not any(_in(item, ("bot.store", "bot.jobs.factory")) for item in IMPORTS[name]), name
    assert {"bot.discord.runner", "bot.web.serve"} <= IMPORTS["bot.app"]
    assert not any(
        _in(item, ("bot.app",))
        for name, imported in IMPORTS.items()
        if _in(name, FRONTS[:2])
        for item in imported
    )
