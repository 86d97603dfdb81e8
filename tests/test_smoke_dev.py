from models.state import Stage
from tests.conftest import make_contact, running_worker
from tests.helpers import submit, wait_stage


async def test_contact_reaches_triage_with_history_checked(dev_env, settings, task_queue):
    contact = make_contact()
    async with running_worker(dev_env.client, settings, task_queue):
        await submit(dev_env.client, settings, task_queue, contact)
        state = await wait_stage(dev_env.client, contact.id, Stage.AWAITING_TRIAGE)
    assert state.history is not None and state.history.matches == []
    assert state.suggested_level == 3
