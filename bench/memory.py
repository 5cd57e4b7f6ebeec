"""Peak RSS per role (api, worker) over the whole run, sampled every 100 ms.

A role's figure is its largest single process (granian's API worker runs as a child of
the `herald api` process, so children are sampled too). Children are looked up once a
second: psutil finds them by reading every process's stat, which every 100 ms took about
5 % of the core that Postgres, the broker and the receiver run on."""

from __future__ import annotations

import asyncio
import contextlib

import psutil

INTERVAL_S = 0.1
CHILDREN_EVERY = 10  # samples


class PeakMemory:
    def __init__(self) -> None:
        self.roles: dict[int, str] = {}
        self.peak_mb: dict[str, float] = {}
        self._processes: dict[int, list[psutil.Process]] = {}
        self._samples = 0
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
        refresh = self._samples % CHILDREN_EVERY == 0
        self._samples += 1
        for pid, role in list(self.roles.items()):
            processes = self._processes.get(pid)
            if processes is None or refresh:
                try:
                    root = psutil.Process(pid)
                    processes = self._processes[pid] = [root, *root.children(recursive=True)]
                except psutil.Error:
                    self.roles.pop(pid, None)
                    self._processes.pop(pid, None)
                    continue
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    rss_mb = process.memory_info().rss / 2**20
                    self.peak_mb[role] = max(self.peak_mb.get(role, 0.0), rss_mb)

    async def _sample(self) -> None:
        while True:
            self._sample_once()
            await asyncio.sleep(INTERVAL_S)
