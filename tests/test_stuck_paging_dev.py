"""Every stuck list pages to its end (issue 13): the API, the supervisor's page of one list
and the CLI each hand back a signed token for the next page, so however many contacts are
overdue a supervisor can read them all. On the real dev server, with pages of two rows."""

from __future__ import annotations

import base64
import os
import re
from html import unescape

import pytest

from models import signing
from models.roles import Role
from tests.conftest import TEST_KEY
from tests.test_cli_e2e import Cli
from tests.test_web_pages import sign_in
from tests.web_support import WebEnv, add_people, app_settings, wait_for, web_env

pytestmark = pytest.mark.asyncio
MINE = 5


async def _api_pages(web: WebEnv, auth: dict[str, str], kind: str, limit: int) -> tuple[list[str], int, int]:
    """Every id of a stuck list through the API, and the count it gave, and the pages it took."""
    ids: list[str] = []
    token: str | None = None
    pages = 0
    count = -1
    while True:
        r = await web.http.get("/api/stuck", params={"kind": kind, "limit": limit} | ({"page_token": token} if token else {}),
                               headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["rows"]) <= limit
        ids += [row["id"] for row in body["rows"]]
        count, token, pages = body["count"], body["next_page_token"], pages + 1
        if token is None:
            return ids, count, pages
        assert pages < 100, "the pages never ended"


async def test_every_stuck_list_pages_to_its_end(dev_env, settings, task_queue, tmp_path):
    people = add_people(settings.database_url)
    rfs, tm = people[Role.RFS_OFFICER], people[Role.TEAM_MANAGER]
    async with web_env(dev_env.client, app_settings(settings, task_queue), task_queue) as web:
        mine = {await web.submit(rfs) for _ in range(MINE)}

        async def all_listed() -> bool:
            ids, _, _ = await _api_pages(web, tm.auth, "unreviewed", 500)
            return mine <= set(ids)

        await wait_for(all_listed, what="the new contacts in the unreviewed list")

        # the API: two rows a page, to the end; every row once; as many as the count says
        ids, count, pages = await _api_pages(web, tm.auth, "unreviewed", 2)
        assert mine <= set(ids) and len(ids) == len(set(ids)) == count
        assert pages >= 3 and -(-count // 2) <= pages <= count // 2 + 1  # a full last page may hand back one more token
        # a token this server did not give out is refused, saying what to do
        r = await web.http.get("/api/stuck", params={"kind": "unreviewed", "page_token": "bm90LWEtdG9rZW4tYXQtYWxs"},
                               headers=tm.auth)
        assert r.status_code == 422 and "start again without it" in r.json()["detail"]

        # the supervisor's page of one list: the dashboard links to it, Next page follows the token
        assert (await sign_in(web.http, tm.username)).status_code == 303
        url: str | None = "/supervisor/lists/unreviewed?limit=2"
        seen: list[str] = []
        while url:
            page = await web.http.get(url)
            assert page.status_code == 200, page.text
            table = page.text.split('id="stuck-list"', 1)[-1]
            seen += re.findall(r'<a href="/contacts/[^"]+">([^<]+)</a>', table)
            nxt = re.search(r'<a rel="next" href="([^"]+)"', page.text)
            url = unescape(nxt.group(1)) if nxt else None
            assert len(seen) <= 2 * count + 2
        assert mine <= set(seen) and len(seen) == len(set(seen))
        assert (await web.http.get("/supervisor/lists/no_such_list")).status_code == 404

        # the CLI: --limit gives a page and the next page's token; --page-token goes on; --all reads to the end
        cli = Cli(dict(
            os.environ,
            TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
            TEMPORAL_NAMESPACE=dev_env.client.namespace,
            FRONTDOOR_TASK_QUEUE=task_queue, DATABASE_URL=settings.database_url, FRONTDOOR_VAR_DIR=str(tmp_path),
            FRONTDOOR_ENCRYPTION_KEY=base64.b64encode(TEST_KEY).decode(), FRONTDOOR_ENCRYPTION_KEY_ID="test-1",
            FRONTDOOR_SIGNING_KEY=base64.b64encode(signing.current().keys[signing.current().signing_key_id]).decode(),
            FRONTDOOR_SIGNING_KEY_ID=signing.current().signing_key_id,
            FRONTDOOR_SECRET_KEY=settings.web_secret_key,
        ))
        first = (await cli.json("stuck", "--unreviewed", "--limit", "2"))["unreviewed"]
        assert len(first["rows"]) == 2 and first["next_page_token"]
        second = (await cli.json("stuck", "--unreviewed", "--limit", "2", "--page-token", first["next_page_token"]))["unreviewed"]
        assert len(second["rows"]) == 2 and not {r["id"] for r in first["rows"]} & {r["id"] for r in second["rows"]}
        text = (await cli("stuck", "--unreviewed", "--limit", "2")).stdout
        assert "--page-token" in text and "--all" in text
        whole = (await cli.json("stuck", "--unreviewed", "--all"))["unreviewed"]
        assert mine <= {r["id"] for r in whole["rows"]} and len(whole["rows"]) == whole["count"]
        assert whole["next_page_token"] is None
        refused = await cli("stuck", "--unreviewed", "--overdue", "--page-token", first["next_page_token"], ok=False)
        assert refused.returncode != 0 and "exactly one" in refused.stderr
