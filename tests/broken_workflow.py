"""A workflow that fails on every task, standing for a bad deploy (its own module: the
sandbox re-imports a workflow's module, so it imports nothing of the test suite)."""

from temporalio import workflow


@workflow.defn(name="BrokenDeploy")
class BrokenDeploy:
    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("bad deploy: code cannot handle this history")
