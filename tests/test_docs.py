"""The manual in docs/ keeps up with the CLI: every command and option documented, the CLI reference
fresh, every page in the site's nav, and the site builds with `mkdocs build --strict`."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference" / "cli.md"

#: The hand-written page that documents each top-level command (and its subcommands and options);
#: "" is the root command, whose options are the global options.
GROUP_PAGES = {
    "": "global-options.md",
    "dlq": "dlq.md",
    "watch": "watch.md",
    "redrive": "redrive.md",
    "tail": "tail.md",
    "probe": "probe.md",
    "stream": "stream.md",
    "trace": "trace.md",
    "saga": "saga.md",
    "route": "route.md",
    "schema": "schema.md",
    "audit": "pipeline.md",
    "topology": "pipeline.md",
    "init": "pipeline.md",
    "iam-policy": "pipeline.md",
    "sandbox": "sandbox.md",
    "demo": "sandbox.md",
    "completion": "completion.md",
}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_reference", DOCS / "gen_cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
COMMANDS: list[tuple[tuple[str, ...], Any]] = [(path, command) for path, command, _ in GEN.walk()]


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _hand_written() -> dict[str, str]:
    """Every docs page but the generated reference, by its path relative to docs/."""
    return {p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(DOCS.rglob("*.md")) if p != REFERENCE}


def _mentions(text: str, words: str) -> bool:
    """`words` (a command line or an option) in `text` as a whole: `--to` is not in `--topic`."""
    return re.search(rf"(?<![\w-]){re.escape(words)}(?![\w-])", text) is not None


def _long_options(command: Any) -> list[str]:
    names: list[str] = []
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option" or getattr(param, "hidden", False):
            continue
        names += [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--") and o != "--help"]
    return names


def test_the_cli_reference_is_fresh() -> None:
    current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert current == GEN.render(), (
        f"{REFERENCE.relative_to(ROOT)} is stale: regenerate it with `.venv/bin/python docs/gen_cli_reference.py`"
    )


def test_the_walk_reaches_every_command() -> None:
    paths = {path for path, _ in COMMANDS}
    assert {(), ("dlq", "inspect"), ("redrive", "run"), ("saga", "history"), ("completion",)} <= paths
    assert len(paths) > 25


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS if p], ids=lambda p: " ".join(p))
def test_every_command_is_documented(path: tuple[str, ...]) -> None:
    assert path[0] in GROUP_PAGES, f"eda {path[0]} is new: give it a page in docs/ and add it to GROUP_PAGES"
    line = " ".join(("eda", *path))
    pages = [name for name, text in _hand_written().items() if _mentions(text, line)]
    assert pages, f"`{line}` is mentioned on no hand-written page of docs/ (expected on {GROUP_PAGES[path[0]]})"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "eda" for p, _ in COMMANDS])
def test_every_option_is_documented_on_its_page(path: tuple[str, ...], command: Any) -> None:
    page = GROUP_PAGES.get(path[0] if path else "")
    assert page is not None, f"eda {path[0]} is new: give it a page in docs/ and add it to GROUP_PAGES"
    text = _page(page)
    missing = [option for option in _long_options(command) if not _mentions(text, option)]
    assert not missing, f"docs/{page} does not mention {', '.join(missing)} of `{' '.join(('eda', *path))}`"


def _nav_pages(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node] if node.endswith(".md") else []
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    return []


class _AnyTagLoader(yaml.SafeLoader):
    """mkdocs.yml may hold `!!python/name:` tags (pymdownx); the nav needs none of them."""


_AnyTagLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def test_every_page_is_in_the_nav() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_AnyTagLoader)
    nav = _nav_pages(config["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(set(nav)) == pages, "mkdocs.yml's nav must list every page of docs/, and only those"
    assert len(nav) == len(set(nav)), "a page is listed twice in mkdocs.yml's nav"


def test_the_readme_links_to_pages_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert local, "the README links into docs/"
    assert not [t for t in local if not (ROOT / t).exists()]


def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").exists()
