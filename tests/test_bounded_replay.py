"""A replay is bounded: a window of at most `replay_max_window_s` holding at most
`replay_max_messages` messages; a larger one is a 422 that says how to split it, and
nothing is replayed."""

from __future__ import annotations

from tests.conftest import Org, app_on_this_loop, assert_problem, make_settings


async def test_a_replay_too_long_or_too_large_is_refused_whole(org: Org) -> None:
    settings = make_settings(replay_max_messages=5, replay_max_window_s=3600)
    async with app_on_this_loop(settings, org.headers) as (_, client):
        queue = (await client.post("/v1/queues", json={"name": "replay"})).json()["queue"]
        received = []
        for n in range(6):
            response = await client.post(
                f"/v1/queues/{queue['id']}/messages", content=b"%d" % n, headers={"sync": "1"}
            )
            received.append(response.json()["received_at"])
        # Registered after the messages: a replay gives it the ones it missed.
        listener = (
            await client.post(
                f"/v1/queues/{queue['id']}/listeners",
                json={"name": "late", "notify_url": "http://127.0.0.1:9/late"},
            )
        ).json()["listener"]
        path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/replay"

        too_long = await client.post(
            path, json={"since": "2020-01-01T00:00:00Z", "until": received[0]}
        )
        assert "at most 1 hour" in assert_problem(too_long, 422)["detail"]

        too_many = await client.post(path, json={"since": received[0]})
        assert "more than 5 messages" in assert_problem(too_many, 422)["detail"]
        deliveries = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries"
        assert (await client.get(deliveries)).json()["deliveries"] == []

        five = await client.post(path, json={"since": received[0], "until": received[5]})
        assert five.status_code == 202 and five.json() == {"replayed": 5}
