"""A bounded request queue and the one model worker that empties it in batches.

Requests wait in a FIFO of at most ``max_queue`` entries (a full queue is refused at
once, never blocked on). One worker thread owns the model, in one of two modes
(``nescio serve --batching``):

- ``continuous`` (the default where the model allows it, see :mod:`nescio.serve.continuous`):
  at every decode step the worker joins newly queued requests into the running decode state
  (up to ``max_batch`` decode rows) and answers each as soon as its own rows finish, so a
  short request never waits for a long one. Requests it does not take (RAG retrievals) run
  as micro-batches between two steps.
- ``micro``: it takes the oldest request and up to ``max_batch − 1`` later ones with the same
  :meth:`~nescio.serve.backend.Work.batch_key` (requests that arrive while a batch runs form
  the next one) and runs them together to the end.

Each result goes back to the event loop that waits for it. A cancelled request (client gone,
timeout) leaves the queue at once and frees its slot; one already running is finished and
its result dropped. :meth:`Engine.stop` lets the worker finish every accepted request before
it exits.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from nescio.serve import backend
from nescio.serve.backend import Work

log = logging.getLogger("nescio.serve")


class QueueFull(Exception):
    def __init__(self, depth: int, retry_after: int):
        super().__init__(f"the request queue is full ({depth} waiting); retry after {retry_after} s")
        self.depth, self.retry_after = depth, retry_after


class Draining(Exception):
    """The server is shutting down and accepts no new requests."""


@dataclass(eq=False)
class Job:
    work: Work
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    enqueued: float = field(default_factory=time.monotonic)
    cancelled: bool = False
    started: float | None = None  # when its batch began


def _resolve(fut: asyncio.Future, result: Any, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


class Engine:
    """Queue + worker over a loaded model and an optional :class:`~nescio.serve.guarding.GuardView`."""

    def __init__(self, lm: Any, guard: Any, *, max_batch: int = 16, max_queue: int = 256,
                 runner: Callable | None = None, on_batch: Callable[[int, float], None] | None = None,
                 batching: str = "continuous"):
        from nescio.types import NescioError

        if batching not in ("continuous", "micro"):
            raise NescioError(f"unknown batching mode {batching!r}; accepted: continuous, micro")
        self.lm, self.guard = lm, guard
        self.max_batch, self.max_queue = max_batch, max_queue
        self._runner = runner
        self._on_batch = on_batch
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._batch_seconds = 1.0  # moving estimate, for Retry-After
        self.running = 0  # requests in the batch being computed
        self._continuous = None
        if batching == "continuous" and runner is None:
            from nescio.serve import continuous

            model = continuous.loaded_model(lm)
            if model is not None:  # else (another backend, sliding-window layers): micro-batches
                self._continuous = continuous.Continuous(model, lm, guard)
        self.batching = "continuous" if self._continuous is not None else "micro"

    # ------------------------------------------------------------------ client side
    @property
    def depth(self) -> int:
        return len(self._queue)

    def submit(self, work: Work, loop: asyncio.AbstractEventLoop) -> Job:
        """Queue one request; raises :class:`QueueFull` or :class:`Draining` instead of waiting."""
        job = Job(work=work, loop=loop, future=loop.create_future())
        with self._cond:
            if self._stopping:
                raise Draining()
            if len(self._queue) >= self.max_queue:
                raise QueueFull(len(self._queue), self.retry_after())
            self._queue.append(job)
            self._cond.notify()
        return job

    def cancel(self, job: Job) -> None:
        """Forget a request: out of the queue if it still waits, else its result is dropped."""
        with self._cond:
            job.cancelled = True
            try:
                self._queue.remove(job)
            except ValueError:
                pass
        if not job.future.done():
            job.future.cancel()

    def retry_after(self) -> int:
        batches = len(self._queue) / max(self.max_batch, 1) + 1
        return max(1, math.ceil(batches * self._batch_seconds))

    # ------------------------------------------------------------------ worker
    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="nescio-model-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Refuse new requests, finish every accepted one, then end the worker."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _take(self) -> list[Job] | None:
        with self._cond:
            while True:
                while self._queue and self._queue[0].cancelled:
                    self._queue.popleft()
                if self._queue:
                    break
                if self._stopping:
                    return None
                self._cond.wait()
            return self._gather()

    def _gather(self, also: Callable[[Work], bool] = lambda w: True) -> list[Job]:
        """The oldest request and the later compatible ones that ``also`` accepts (under the lock)."""
        first = self._queue.popleft()
        key = first.work.batch_key()
        batch, keep = [first], deque()
        while self._queue:
            job = self._queue.popleft()
            if job.cancelled:
                continue
            if len(batch) < self.max_batch and job.work.batch_key() == key and also(job.work):
                batch.append(job)
            else:
                keep.append(job)
        self._queue.extendleft(reversed(keep))
        self.running = len(batch)
        now = time.monotonic()
        for job in batch:
            job.started = now
        return batch

    def _work(self) -> None:
        if self._continuous is not None:
            return self._work_continuous()
        while True:
            batch = self._take()
            if batch is None:
                return
            self._run_micro(batch)

    def _run_micro(self, batch: list[Job]) -> None:
        start = time.monotonic()
        try:
            runner = self._runner or backend.run_batch
            results, exc = runner(self.lm, self.guard, [j.work for j in batch]), None
        except BaseException as e:  # noqa: BLE001 - every waiting request gets an answer
            log.exception("batch of %d failed", len(batch))
            results, exc = [None] * len(batch), e
        elapsed = time.monotonic() - start
        self._batch_seconds = 0.8 * self._batch_seconds + 0.2 * elapsed
        self.running = self._continuous.requests if self._continuous is not None else 0
        if self._on_batch is not None:
            self._on_batch(len(batch), elapsed)
        for job, result in zip(batch, results):
            _answer(job, result, exc)

    # ------------------------------------------------------------------ continuous worker
    def _next(self) -> tuple[list[Job], list[Job]] | None:
        """At a step boundary: (requests to join, a micro-batch to run first); None when stopped and idle."""
        from nescio.serve.continuous import eligible, rows_of

        cont = self._continuous
        with self._cond:
            while True:
                while self._queue and self._queue[0].cancelled:
                    self._queue.popleft()
                if self._queue or cont.requests:
                    break
                if self._stopping:
                    return None
                self._cond.wait()
            if self._queue and not eligible(self._queue[0].work):
                return [], self._gather(lambda w: not eligible(w))  # the others join the running state
            join, rows = [], cont.rows
            while self._queue and eligible(self._queue[0].work):  # oldest first, up to the next micro-batch
                job = self._queue[0]
                if job.cancelled:
                    self._queue.popleft()
                    continue
                if rows + rows_of(job.work) > self.max_batch and (rows or join):
                    break
                join.append(self._queue.popleft())
                rows += rows_of(job.work)
            self.running = cont.requests + len(join)
            return join, []

    def _work_continuous(self) -> None:
        cont = self._continuous
        while True:
            taken = self._next()
            if taken is None:
                return
            join, micro = taken
            if micro:
                self._run_micro(micro)
                continue
            start = time.monotonic()
            done = cont.admit(join) if join else []
            size = cont.requests
            if size:
                done += cont.step()
            elapsed = time.monotonic() - start
            self.running = cont.requests
            if size and self._on_batch is not None:
                self._on_batch(size, elapsed)  # one decode step over `size` requests
            now = time.monotonic()
            for job, result, exc in done:
                if exc is not None:
                    log.error("request failed in the continuous batch: %r", exc)
                if job.started is not None:  # Retry-After: how long one request takes in the batch
                    self._batch_seconds = 0.8 * self._batch_seconds + 0.2 * (now - job.started)
                _answer(job, result, exc)


def _answer(job: Job, result: Any, exc: BaseException | None) -> None:
    if job.cancelled:
        return
    try:
        job.loop.call_soon_threadsafe(_resolve, job.future, result, exc)
    except RuntimeError:  # the event loop is gone
        pass

