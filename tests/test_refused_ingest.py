"""A credential whose ingest requests keep being refused (400, 413, 415, 422) is held to a
few a second: past the limit its next request gets 429 before its body is read, while
other keys and inlets go on as before."""

from __future__ import annotations

from tests.conftest import Org, app_on_this_loop, assert_problem, make_settings
from tests.receiver import wait_for


async def test_refused_ingest_requests_are_limited_per_credential(org: Org) -> None:
    async with app_on_this_loop(make_settings(refused_ingest_per_s=3), org.headers) as (
        _,
        client,
    ):
        queue = (await client.post("/v1/queues", json={"name": "refused"})).json()["queue"]
        path = f"/v1/queues/{queue['id']}/messages"
        inlet = (await client.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "in"})).json()[
            "inlet"
        ]["url"]
        brotli = {"content-encoding": "br"}
        for _ in range(5):  # the counts are per second: a round may straddle two
            for _ in range(3):
                assert_problem(await client.post(path, content=b"x", headers=brotli), 415)
            held = await client.post(path, content=b"a good message")
            if held.status_code == 429:
                break
        assert "refused ingest requests" in assert_problem(held, 429)["detail"]
        assert held.headers["retry-after"] == "1"
        # Another credential of the same organization is not held back.
        assert (await client.post(inlet, content=b"from the inlet")).status_code == 202

        async def accepted_again() -> bool:
            return (await client.post(path, content=b"again")).status_code == 202

        await wait_for(accepted_again, timeout_s=5, what="the next second's requests")
