"""What a new workflow instance pays to start: the SDK's sandbox imports the workflow's own
module afresh for every run (and again whenever a cached run is evicted and replayed), and
with it every project module that module imports without passing it through.

`from workflows import x` inside `imports_passed_through()` does not pass `x` through (the
package is already in the sandbox, so the submodule is loaded by the ordinary machinery):
ContactWorkflow then loaded the consultation, early help and morning modules afresh each
time, about half of its start-up. This holds every registered workflow to its own module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from temporalio.worker.workflow_sandbox._importer import Importer
from temporalio.worker.workflow_sandbox._restrictions import RestrictionContext, SandboxRestrictions

from worker import WORKFLOWS

PROJECT = ("workflows", "activities", "models", "frontdoor")


def fresh_modules(module_name: str) -> set[str]:
    """The project's modules a sandbox loads itself (not passed through) to import `module_name`."""
    importer = Importer(SandboxRestrictions.default, RestrictionContext(), workflow_module_name=module_name)
    scope = {"__file__": "workflow_sandbox.py", "__temporal_importer": importer}
    exec(f"with __temporal_importer.applied():\n  import {module_name}\n", scope, scope)  # noqa: S102
    return {
        name for name, module in importer.new_modules.items()
        if name.split(".")[0] in PROJECT and sys.modules.get(name) is not module
    }


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.__name__)
def test_a_workflow_run_loads_only_its_own_module(workflow: type) -> None:
    module = workflow.__module__
    assert fresh_modules(module) <= {"workflows", module}


def test_the_check_sees_a_module_loaded_afresh() -> None:
    """The check above can fail: the registry imports its modules with `from workflows import`,
    outside any pass-through, so a sandbox loads them all."""
    assert {"workflows.contact", "workflows.consultation"} <= fresh_modules("workflows.registry")


def test_the_worker_leaves_bytecode_for_each_workflow_module() -> None:
    """With PYTHONDONTWRITEBYTECODE set, nothing else writes it, and each run compiles its module."""
    from worker import ensure_bytecode

    for workflow in WORKFLOWS:
        cached = Path(importlib.util.cache_from_source(sys.modules[workflow.__module__].__file__ or ""))
        cached.unlink(missing_ok=True)
    ensure_bytecode()
    for workflow in WORKFLOWS:
        source = Path(sys.modules[workflow.__module__].__file__ or "")
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime, workflow.__name__
