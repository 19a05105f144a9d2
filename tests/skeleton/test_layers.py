"""The layout rules the composition root relies on, checked on the source itself.

- No module outside the HTTP layer imports fastapi, starlette or ``frontdesk.server``
  (type-only imports included): the HTTP layer is, by path, ``web/``, ``server/``,
  ``sandbox/``, ``http/`` or ``http_*.py``, ``*api.py``, ``routes``/``routers``,
  ``dependencies.py``/``deps.py``, ``cli/serve.py`` and ``cli/demo.py``.
- No string-keyed ``extras`` bag; outside ``sandbox/`` the app state holds only the context.
- Only the composition root constructs engines, senders, runners and queues.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "frontdesk"
WEB_FRAMEWORKS = ("fastapi", "starlette", "frontdesk.server")
ROOT = "composition.py"
BUILT_ONLY_BY_THE_ROOT = {
    "SyncEngine",
    "SyncJobs",
    "Dispatcher",
    "ReviewSender",
    "SyncWorker",
    "AppJobs",
    "WebhookPump",
    "WarningLoop",
    "RetentionLoop",
    "AlertLoop",
    "Heartbeat",
    "Meter",
    "UsageLoop",
    "Instruments",
    "LocalJobQueue",
    "ProcrastinateJobQueue",
    "build_job_queue",
    "build_procrastinate_queue",
}
QUEUE_FACTORY = "jobs/factory.py"  # builds the queue classes, for the root only


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def relative(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def in_http_layer(name: str) -> bool:
    parts = name.split("/")
    base = parts[-1]
    return (
        parts[0] in ("web", "server", "sandbox", "http")
        or "http" in parts[:-1]
        or base.startswith("http_")
        or base.endswith("api.py")
        or base in ("routes.py", "routers.py", "dependencies.py", "deps.py")
        or name in ("cli/serve.py", "cli/demo.py")
    )


def imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_the_kernel_context_has_no_bag_of_extras() -> None:
    from dataclasses import fields

    from frontdesk.context import AppContext

    assert [f.name for f in fields(AppContext)] == ["settings", "db", "secrets", "clock"]


def test_the_http_layer_rule_is_read_from_real_paths() -> None:
    assert in_http_layer("web/pages/outbox.py")
    assert in_http_layer("integrations/api.py")
    assert in_http_layer("engagement/outbox_api.py")
    assert in_http_layer("access/dependencies.py")
    assert not in_http_layer("engagement/sending.py")
    assert not in_http_layer("composition.py")
    assert not in_http_layer("cli/sync.py")


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_no_domain_module_imports_the_web_layer(path: Path) -> None:
    name = relative(path)
    if in_http_layer(name):
        return
    found = [
        module
        for module in imported(ast.parse(path.read_text()))
        if any(module == f or module.startswith(f + ".") for f in WEB_FRAMEWORKS)
    ]
    assert found == [], f"{name} imports the web layer: {found}"


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_no_extras_bag_and_app_state_holds_only_the_context(path: Path) -> None:
    name = relative(path)
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "extras":
            raise AssertionError(f"{name}:{node.lineno} uses an extras bag")
        if (
            not name.startswith("sandbox/")
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "state"
            and isinstance(node.value.value, ast.Attribute | ast.Name)
            and getattr(node.value.value, "attr", getattr(node.value.value, "id", "")) == "app"
        ):
            assert node.attr == "context", f"{name}:{node.lineno} app.state.{node.attr}"


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_only_the_composition_root_constructs_engines_senders_and_queues(path: Path) -> None:
    name = relative(path)
    if name == ROOT:
        return
    allowed = (
        {"LocalJobQueue", "ProcrastinateJobQueue", "build_procrastinate_queue"}
        if name == QUEUE_FACTORY
        else set()
    )
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in BUILT_ONLY_BY_THE_ROOT and called not in allowed:
                raise AssertionError(f"{name}:{node.lineno} constructs {called}")
