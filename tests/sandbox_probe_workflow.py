"""A workflow that tries what the sandbox forbids and reports what happened (its own module:
the sandbox re-imports a workflow's module, so it imports nothing of the test suite)."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="probe_echo")
async def echo(text: str) -> str:
    return f"echo: {text}"


@workflow.defn(name="SandboxProbe")
class SandboxProbe:
    @workflow.run
    async def run(self, text: str) -> list[str]:
        import datetime

        try:
            datetime.datetime.now()
            clock = "read the wall clock"
        except Exception as exc:  # the sandbox's RestrictedWorkflowAccessError
            clock = f"refused: {type(exc).__name__}"
        answer = await workflow.execute_activity(echo, text, start_to_close_timeout=timedelta(seconds=10))
        return [clock, answer]
