"""`python -m workers`: one arq worker process, settings from the environment.

On SIGTERM the drains stop claiming at once and get `worker_grace_s` to finish what is in
flight; whatever is still running then is cancelled and given back to pending.
"""

import asyncio
import signal

from service.config import Settings
from service.lib.event_loop import new_event_loop
from service.lib.logs import configure_logging
from workers.runner import HeraldWorker
from workers.settings import build_worker_settings


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.set_event_loop(new_event_loop())  # arq's Worker runs on the current loop
    worker = HeraldWorker(**build_worker_settings(settings))

    def stop(signum: signal.Signals) -> None:
        herald = worker.ctx.get("herald")
        if herald is not None:
            herald.stopping.set()
        worker.handle_sig_wait_for_completion(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        worker.loop.add_signal_handler(sig, stop, sig)
    worker.run()


if __name__ == "__main__":
    main()
