"""The per-key rate limit is one budget shared by every API process (real Redis)."""

import uuid

from service.config import Settings
from service.embedded.process import free_port
from service.errors import RateLimited
from service.lib.ratelimit import RequestRateLimiter


def _accepts(limiter: RequestRateLimiter, identity: str) -> bool:
    try:
        limiter.check(identity)
    except RateLimited as exc:
        assert exc.retry_after_s == 1
        return False
    return True


async def test_two_processes_share_one_budget_per_second(settings: Settings) -> None:
    now = 1_700_000_000.0
    first, second = (RequestRateLimiter(settings.redis_url, 6, clock=lambda: now) for _ in range(2))
    identity = f"key-{uuid.uuid4()}"
    accepted = 0
    for limiter in [first, second] * 6:
        accepted += _accepts(limiter, identity)
        await limiter.sync()  # its hit reaches Redis, then both read the shared total
        await first.sync()
        await second.sync()
    assert accepted == 6
    assert not _accepts(first, identity) and not _accepts(second, identity)
    now += 1.0  # the next second has a budget of its own
    assert _accepts(first, identity) and _accepts(second, identity)
    await first.close()
    await second.close()


async def test_keys_have_separate_budgets(settings: Settings) -> None:
    limiter = RequestRateLimiter(settings.redis_url, 2, clock=lambda: 1_700_000_000.0)
    busy, quiet = f"key-{uuid.uuid4()}", f"key-{uuid.uuid4()}"
    assert [_accepts(limiter, busy) for _ in range(3)] == [True, True, False]
    assert _accepts(limiter, quiet)
    await limiter.close()


async def test_without_redis_each_process_still_enforces_the_limit() -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}"
    limiter = RequestRateLimiter(nowhere, 3, sync_s=0.001, clock=lambda: 1_700_000_000.0)
    identity = f"key-{uuid.uuid4()}"
    assert [_accepts(limiter, identity) for _ in range(4)] == [True, True, True, False]
    await limiter.close()  # the failed sync is logged, not raised
    assert not _accepts(limiter, identity)
