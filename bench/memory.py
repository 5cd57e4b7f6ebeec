"""Peak RSS per role (api, worker) over the whole run, sampled every 100 ms.

A role's figure is its largest single process (granian's API worker runs as a child of
the `herald api` process, so children are sampled too)."""

from __future__ import annotations

import asyncio
import contextlib

import psutil

INTERVAL_S = 0.1


class PeakMemory:
    def __init__(self) -> None:
        self.roles: dict[int, str] = {}
        self.peak_mb: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, pid: int, role: str) -> None:
        self.roles[pid] = role
        if self._task is None:
            self._task = asyncio.create_task(self._sample())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _sample_once(self) -> None:
        for pid, role in list(self.roles.items()):
            try:
                root = psutil.Process(pid)
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                self.roles.pop(pid, None)
                continue
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    rss_mb = process.memory_info().rss / 2**20
                    self.peak_mb[role] = max(self.peak_mb.get(role, 0.0), rss_mb)

    async def _sample(self) -> None:
        while True:
            self._sample_once()
            await asyncio.sleep(INTERVAL_S)
