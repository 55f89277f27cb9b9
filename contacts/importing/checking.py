"""An import's rows, read and checked beside the thread that writes them, in batches.

Checking is CPU-bound Python. On a thread of the worker it takes the GIL from
the threads that plan the batches and feed COPY to PostgreSQL, and every wait of
theirs for the GIL is a wait of PostgreSQL's for data. A large file is therefore
checked by a child process (`python -m contacts.importing.check_process`) fed
the stored file's bytes and answering with pickled batches. A small one is
checked on a thread, as a process is slow to start (figures: bench/README.md).

Either way the checker runs at most about a batch ahead of the writer (memory
stays flat), touches no database, and its errors are raised on the caller's
thread: `ImportLimitExceeded` as itself, anything else as `CheckingFailed`.
"""

import fcntl
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace

from django.conf import settings

from ..validation import ContactRules
from .columns import ColumnMap
from .reader import ImportLimitExceeded, read_rows
from .rows import CheckedRow, RowChecker

# The first batch is small and each next one twice as large, up to IMPORT_BATCH_ROWS: the
# first progress shows sooner, and the writer does not wait while the pipeline fills.
FIRST_BATCH_ROWS = 2000
_PIPE_BUFFER = 1 << 16
_PIPE_CAPACITY = 1 << 20
_FEED_CHUNK = 1 << 20


class CheckingFailed(Exception):
    """The checking process stopped without an answer, or on an unexpected error."""


@dataclass(frozen=True)
class CheckJob:
    """Everything checking needs, so that a process without settings or storage can do it."""

    columns: ColumnMap
    rules: ContactRules
    delimiter: str
    start_offset: int  # the checkpoint: where reading starts, and the row number there
    start_row: int
    batch_rows: int
    max_rows: int
    max_columns: int
    max_cell_bytes: int


def check_job(columns: ColumnMap, rules: ContactRules, imp) -> CheckJob:
    """The job of reading `imp` from its checkpoint, with this process's settings."""
    return CheckJob(
        columns=columns,
        rules=rules,
        delimiter=imp.delimiter,
        start_offset=imp.checkpoint_offset,
        start_row=imp.checkpoint_row,
        batch_rows=settings.IMPORT_BATCH_ROWS,
        max_rows=settings.IMPORT_MAX_ROWS,
        max_columns=settings.IMPORT_MAX_COLUMNS,
        max_cell_bytes=settings.IMPORT_MAX_CELL_BYTES,
    )


def job_batches(job: CheckJob, file) -> Iterator[list[CheckedRow]]:
    """The job's rows of `file` (positioned anywhere; read from the job's offset), checked."""
    rows = read_rows(
        file,
        delimiter=job.delimiter,
        header_columns=len(job.columns.header),
        start_offset=job.start_offset,
        start_row=job.start_row,
        max_rows=job.max_rows,
        max_columns=job.max_columns,
        max_cell_bytes=job.max_cell_bytes,
    )
    check_row = RowChecker(job.columns, job.rules)
    batch, size = [], min(FIRST_BATCH_ROWS, job.batch_rows)
    for raw in rows:
        batch.append(check_row(raw))
        if len(batch) >= size:
            yield batch
            batch, size = [], min(2 * size, job.batch_rows)
    if batch:
        yield batch


@contextmanager
def checked_batches(job: CheckJob, file, *, in_process: bool):
    """An iterator of the checked batches of `file` (the stored upload, binary)."""
    checker = _checked_on_a_thread if not in_process else _checked_by_a_process
    with checker(job, file) as batches:
        yield batches


# --- on a thread ------------------------------------------------------------------------


@contextmanager
def _checked_on_a_thread(job: CheckJob, file):
    handoff = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def check():
        try:
            for batch in job_batches(job, file):
                if not put(batch):
                    return
            put(_END)
        except BaseException as exc:  # handed over and raised on the caller's thread
            put(_Failure(exc))

    def batches():
        while (item := handoff.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.exc
            yield item

    checker = threading.Thread(target=check, name="import-checker", daemon=True)
    checker.start()
    try:
        yield batches()
    finally:
        stop.set()
        checker.join()


_END = object()


@dataclass
class _Failure:
    exc: BaseException


# --- by a process -----------------------------------------------------------------------


@contextmanager
def _checked_by_a_process(job: CheckJob, file):
    """The first batch is checked here while the child sets Django up, which the first write
    would otherwise wait for. The child then reads the job
    of the rest and the file's bytes from there on from its stdin (fed by a thread), and
    writes (kind, payload) pickles to its stdout."""
    child = subprocess.Popen(
        [sys.executable, "-m", "contacts.importing.check_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=_PIPE_BUFFER,
        cwd=settings.BASE_DIR,  # the environment, DJANGO_SETTINGS_MODULE included, is ours
    )
    _widen_pipe(child.stdout)
    stop = threading.Event()
    feeders = []

    def feed(rest: CheckJob):
        # A closed pipe means the child stopped: on an error it reports, or stopped by us.
        with suppress(BrokenPipeError, OSError):
            pickle.dump(rest, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            file.seek(rest.start_offset)
            while not stop.is_set() and (chunk := file.read(_FEED_CHUNK)):
                child.stdin.write(chunk)
        with suppress(BrokenPipeError, OSError):
            child.stdin.close()

    def batches():
        first = _first_batch(job, file)
        rest = job
        if first:
            rest = replace(job, start_offset=first[-1].end_offset, start_row=first[-1].number)
        feeders.append(
            threading.Thread(target=feed, args=(rest,), name="import-feeder", daemon=True)
        )
        feeders[0].start()
        if first:
            yield first
        while True:
            try:
                kind, payload = pickle.load(child.stdout)  # noqa: S301 (our own child, a private pipe)
            except EOFError:
                raise CheckingFailed(
                    f"The checking process stopped without an answer (exit {child.wait()})."
                ) from None
            if kind == "batch":
                yield payload
            elif kind == "end":
                return
            elif kind == "limit":
                raise ImportLimitExceeded(*payload)
            else:
                raise CheckingFailed(payload)

    try:
        yield batches()
    finally:
        stop.set()
        child.kill()  # done, or no longer needed; it holds nothing worth a clean stop
        child.wait()
        for feeder in feeders:
            feeder.join()
        child.stdin.close()
        child.stdout.close()


def _first_batch(job: CheckJob, file) -> list[CheckedRow]:
    rows = job_batches(job, file)
    try:
        return next(rows, [])
    finally:
        rows.close()


def _widen_pipe(pipe) -> None:
    """Fewer wake-ups per batch (each a wait for a core and the GIL): 1 MiB, Linux's ceiling
    for unprivileged processes. Elsewhere (no F_SETPIPE_SZ) the pipe keeps its size."""
    resize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if resize is not None:
        with suppress(OSError):
            fcntl.fcntl(pipe.fileno(), resize, _PIPE_CAPACITY)


def serve(source, out) -> None:
    """The child's side: a CheckJob and then the file's bytes from `source`, batches to `out`."""
    job = pickle.load(source)  # noqa: S301 (from the worker that started us, a private pipe)
    try:
        for batch in job_batches(job, _Stream(source, job.start_offset)):
            pickle.dump(("batch", batch), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
        message = ("end", None)
    except ImportLimitExceeded as exc:
        message = ("limit", (exc.code, exc.message))
    except Exception as exc:  # reported to the worker, which fails the import with it
        message = ("error", f"{type(exc).__name__}: {exc}")
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


class _Stream:
    """The piped file as the reader sees a stored one: it starts at `offset`, and seeking
    is to where it already is, or to its end (after a row that cannot be parsed)."""

    def __init__(self, raw, offset: int):
        self._raw = raw
        self._offset = offset

    def readline(self, limit: int = -1) -> bytes:
        line = self._raw.readline(limit)
        self._offset += len(line)
        return line

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END and offset == 0:
            while chunk := self._raw.read(_FEED_CHUNK):
                self._offset += len(chunk)
        elif not (whence == os.SEEK_SET and offset == self._offset):
            raise OSError(f"cannot seek a piped file to {offset} (whence {whence})")
        return self._offset

    def tell(self) -> int:
        return self._offset
