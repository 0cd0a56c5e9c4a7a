"""Running one function over many images on a pool of workers, results in input order, with a
bounded number of images in flight (memory stays bounded however long the list is).

Image-level parallelism beats thread-level parallelism inside a model for the small networks
ocula runs: on 2 cores, two images with one thread each kept both cores busy where one image
with two threads left half the time idle between ops. So each worker gets an equal share of the
thread budget (``worker_settings``) and the models' sessions are sized to it."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

from ..config import Settings

T = TypeVar("T")
R = TypeVar("R")


def default_workers(settings: Settings) -> int:
    """Workers for a batch: ``settings.jobs`` when set, else one per core (at most 4)."""
    if settings.jobs:
        return max(1, int(settings.jobs))
    return max(1, min(4, os.cpu_count() or 1))


def worker_settings(settings: Settings, workers: int) -> Settings:
    """The settings each worker runs its models with: threads shared out, so that
    workers x threads per model stays within the thread budget."""
    threads = max(1, settings.threads // max(1, workers))
    return settings if threads == settings.threads else settings.model_copy(update={"threads": threads})


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int, ahead: int | None = None
                ) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) in input order, ``fn`` running on ``workers`` threads with at most
    ``ahead`` (default 2 x workers) items started and not yet yielded."""
    ahead = max(1, ahead or 2 * workers)
    if workers <= 1:
        for item in items:
            yield item, fn(item)
        return
    pending: deque[tuple[T, Future[R]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocula-worker") as pool:
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= ahead:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
