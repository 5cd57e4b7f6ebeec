"""`python -m workers`: run one arq worker process with settings from the environment."""

import logging

from arq.worker import run_worker

from workers.settings import build_worker_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_worker(build_worker_settings())


if __name__ == "__main__":
    main()
