"""Worker processes that each fetch, parse, clean and write a share of a run's channels.

A large run uses every core this way. Each worker runs its own event loop and HTTP client: it
fetches the channels the main process hands it, writes their posts, and sends back only what
the store must record. Feed bytes never cross a process boundary: handing them from one
fetching process to workers that only parsed cost more CPU than it saved (``bench/run.py``).

The main process owns the store and the fetch limits: :class:`FetchLimits` lets a channel be
handed out only while the global and per-host limits allow, so the workers together never hold
more connections than one process would.

Messages go both ways through pipes, as pickled lists (:class:`_Outbox`, :class:`_Inbox`) read
and written by each process's event loop without ever blocking it: two processes sending each
other large messages cannot end up waiting on each other.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import signal
import struct
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import IO, TYPE_CHECKING, AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

from .config import FetchSettings
from .exceptions import FeedError
from .job import ChannelJob, ChannelUpdate, fetch_and_update
from .store import ItemRecord

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext, BaseProcess

Result = ChannelUpdate | FeedError

# Below this many feeds per worker, starting the worker costs more than it saves.
FEEDS_PER_WORKER = 8


class FetchLimits:
    """The global and per-host limits on feeds in flight: being fetched, or held until written."""

    def __init__(self, settings: FetchSettings) -> None:
        self._all = asyncio.Semaphore(settings.concurrency)
        self._per_host = settings.per_host
        self._hosts: dict[tuple[str, str | None, int | None], asyncio.Semaphore] = {}
        self._by_url: dict[str, asyncio.Semaphore] = {}   # a channel's URL is parsed once a run

    def place(self, url: str) -> Place:
        """A place for the feed at ``url``; ``async with`` holds it."""
        gate = self._by_url.get(url)
        if gate is None:
            try:
                parts = urlsplit(url)
                host = (parts.scheme, parts.hostname, parts.port)
            except ValueError:  # a bad port: the fetch reports it
                host = ("", url, None)
            gate = self._hosts.get(host)
            if gate is None:
                gate = self._hosts[host] = asyncio.Semaphore(self._per_host)
            self._by_url[url] = gate
        return Place(gate, self._all)


class Place:
    """One feed's place (a :class:`~newsmirror.fetch.Gate`): its host's limit, then the global
    one, always in that order, so feeds waiting for a busy host hold no global place.

    ``async with`` acquires it and gives it up at the end.
    """

    def __init__(self, host: asyncio.Semaphore, everyone: asyncio.Semaphore) -> None:
        self._semaphores = (host, everyone)
        self.held = False

    async def __aenter__(self) -> Place:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    async def acquire(self) -> None:
        if self.held:
            return
        host, everyone = self._semaphores
        await host.acquire()
        try:
            await everyone.acquire()
        except BaseException:  # cancelled halfway: nothing kept
            host.release()
            raise
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            for semaphore in self._semaphores:
                semaphore.release()


# A job, its place, and what asks the store for its channel's records (only once the feed has
# content; None when the channel has none). Not decide.Known, one record as a decision sees it.
AskKnown = Callable[[], dict[str, ItemRecord]] | None
RunJob = Callable[[ChannelJob, Place, AskKnown], Awaitable[Result]]


@asynccontextmanager
async def channel_runner(feeds: int, settings: FetchSettings) -> AsyncIterator[RunJob]:
    """What runs one channel's job in its place: worker processes for a run large enough to
    gain from them, else this process."""
    workers = min(os.cpu_count() or 1, feeds // FEEDS_PER_WORKER)
    if workers < 2:
        # aiohttp takes 0.1 s to import: with workers, only they need it.
        from .fetch import Fetcher

        async def run_here(job: ChannelJob, place: Place, known: AskKnown) -> Result:
            async def known_now() -> dict[str, ItemRecord]:
                return known()
            return await fetch_and_update(fetcher, job, known and known_now, place)

        async with Fetcher(settings) as fetcher:
            yield run_here
        return
    pool = WorkerPool(workers, settings)
    await pool.start()
    try:
        yield pool.run
    except BaseException:
        # Interrupted (Ctrl-C), or a failure here: what the workers hold is dropped at once,
        # not waited for. Every post they wrote is whole; the next run records it.
        pool.kill()
        raise
    finally:
        await pool.close()


@dataclass(eq=False)
class _Job:
    """A job handed to a worker, as the main process tracks it."""

    place: Place
    known: AskKnown
    done: asyncio.Future[Result]
    regain: asyncio.Task[None] | None = None   # getting its place back after a backoff


_LENGTH = struct.Struct("!I")   # before each pickled list of messages


class _Outbox:
    """Messages to the process at the other end of a pipe, sent together once per turn of the
    event loop, as one list: each write wakes the other process, and a warm run's thousand 304s
    made thousands of wake-ups each way. The asyncio transport buffers what the pipe cannot
    take yet, so sending never blocks."""

    def __init__(self, transport: asyncio.WriteTransport, closed: asyncio.Future[None]) -> None:
        self._transport = transport
        self._closed = closed
        self._messages: list[object] = []

    @classmethod
    async def open(cls, connection: Connection) -> _Outbox:
        loop = asyncio.get_running_loop()
        closed = loop.create_future()
        transport, _ = await loop.connect_write_pipe(lambda: _WhenLost(closed), _pipe_file(connection, "wb"))
        return cls(transport, closed)

    def send(self, message: object) -> None:
        if not self._messages:
            asyncio.get_running_loop().call_soon(self.flush)
        self._messages.append(message)

    def flush(self) -> None:
        # After the other end is gone, nothing is sent: its end of file settles what it held.
        if self._messages and not self._transport.is_closing():
            data = pickle.dumps(self._messages, pickle.HIGHEST_PROTOCOL)
            self._transport.writelines((_LENGTH.pack(len(data)), data))
        self._messages = []

    async def close(self) -> None:
        """Send what is left, and wait until the pipe has taken it."""
        self.flush()
        self._transport.close()
        await self._closed

    def abort(self) -> None:
        self._messages = []
        if not self._closed.done():
            self._transport.abort()


class _WhenLost(asyncio.Protocol):
    def __init__(self, lost: asyncio.Future[None]) -> None:
        self._lost = lost

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._lost.done():
            self._lost.set_result(None)


class _Inbox(asyncio.Protocol):
    """What the process at the other end of a pipe sends (see :class:`_Outbox`): each list of
    messages goes to ``deliver`` as soon as all of it has come; ``ended`` is called at end of
    file."""

    def __init__(self, deliver: Callable[[list], None], ended: Callable[[], None]) -> None:
        self._deliver = deliver
        self._ended = ended
        self._buffer = bytearray()

    @classmethod
    async def open(cls, connection: Connection, deliver: Callable[[list], None],
                   ended: Callable[[], None]) -> None:
        await asyncio.get_running_loop().connect_read_pipe(lambda: cls(deliver, ended),
                                                           _pipe_file(connection, "rb"))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, start)
            end = start + _LENGTH.size + size
            if len(buffer) < end:
                break
            messages = pickle.loads(buffer[start + _LENGTH.size:end])
            start = end
            self._deliver(messages)
        del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended()


def _pipe_file(connection: Connection, mode: str) -> IO[bytes]:
    """The pipe end under ``connection`` (which came through multiprocessing, fork server
    included) as a file for an asyncio transport, which then owns it."""
    fd = os.dup(connection.fileno())
    connection.close()
    return os.fdopen(fd, mode, buffering=0)


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    # To the worker: ("job", ticket, job, whether to ask for known records), the answers
    # ("acquire", ticket) and ("known", ticket, records), then None. From it (an _Inbox):
    # ("release" | "acquire" | "known", ticket), ("done", ticket, result), then end of file.
    jobs: _Outbox
    pending: dict[int, _Job] = field(default_factory=dict)
    ended: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class WorkerPool:
    """``size`` worker processes; :meth:`run` hands a job to the least busy one.

    A worker backing off before a retry gives its job's place back (as a feed fetched here
    would) and asks for it again before the next attempt. A worker that dies is replaced, a
    few times per run at most.
    """

    RESPAWNS = 5

    def __init__(self, size: int, settings: FetchSettings) -> None:
        self.size = size
        self.settings = settings
        self._workers: list[_Worker] = []
        self._dead: list[_Worker] = []       # reaped at close
        self._respawns = self.RESPAWNS
        self._tickets = itertools.count()
        self._spawning = asyncio.Lock()

    async def start(self) -> None:
        """Start the workers that are missing: all of them at first, later the replacements
        of dead ones, while replacements are left."""
        async with self._spawning:
            missing = self.size - len(self._workers)
            if self._dead:  # replacing: each one counts
                missing = min(missing, self._respawns)
                self._respawns -= missing
            context = _context()
            if context.get_start_method() == "fork":  # milliseconds: no need to leave the loop
                started = [self._spawn(context) for _ in range(missing)]
            else:  # waits for the fork server's imports: off the event loop
                started = await asyncio.gather(*(asyncio.to_thread(self._spawn, context)
                                                 for _ in range(missing)))
            for parts in started:
                await self._watch(parts)

    async def run(self, job: ChannelJob, place: Place, known: AskKnown) -> Result:
        if len(self._workers) < self.size and self._respawns > 0:  # one died: replace it
            await self.start()
        if not self._workers:
            return FeedError("worker processes keep dying (killed, or a crash); feed not handled")
        worker = min(self._workers, key=lambda w: len(w.pending))
        ticket = next(self._tickets)
        tracked = worker.pending[ticket] = _Job(place, known, asyncio.get_running_loop().create_future())
        worker.jobs.send(("job", ticket, job, known is not None))
        try:
            return await tracked.done
        finally:
            if tracked.regain is not None:
                tracked.regain.cancel()

    async def close(self) -> None:
        """Let the workers finish what they hold (nothing, after a whole run), then end them."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.jobs.send(None)
        await asyncio.gather(*(worker.ended for worker in workers))
        await asyncio.to_thread(_join, workers + self._dead)
        for worker in workers:
            worker.jobs.abort()  # each read its last message before it ended

    def kill(self) -> None:
        for worker in self._workers:
            worker.process.kill()

    def _spawn(self, context: BaseContext) -> tuple[BaseProcess, Connection, Connection]:
        job_reader, job_writer = context.Pipe(duplex=False)
        result_reader, result_writer = context.Pipe(duplex=False)
        # A forked worker's parent is this process (through a fork server, the server).
        parent = os.getpid() if context.get_start_method() == "fork" else None
        process = context.Process(target=_serve, args=(job_reader, result_writer, self.settings, parent),
                                  daemon=True, name="newsmirror-worker")
        process.start()
        # The worker holds these ends now; with ours closed, its death reads as end of file.
        job_reader.close()
        result_writer.close()
        return process, job_writer, result_reader

    async def _watch(self, started: tuple[BaseProcess, Connection, Connection]) -> None:
        process, jobs, results = started
        worker = _Worker(process, await _Outbox.open(jobs))
        self._workers.append(worker)
        await _Inbox.open(results, partial(self._receive, worker), partial(self._ended, worker))

    def _receive(self, worker: _Worker, messages: list[tuple]) -> None:
        for kind, ticket, *result in messages:
            tracked = worker.pending[ticket]
            if kind == "release":
                tracked.place.release()
            elif kind == "acquire":
                tracked.regain = asyncio.create_task(self._regain(worker, ticket, tracked.place))
            elif kind == "known":
                worker.jobs.send(("known", ticket, tracked.known()))
            else:
                del worker.pending[ticket]
                if not tracked.done.done():
                    tracked.done.set_result(result[0])

    async def _regain(self, worker: _Worker, ticket: int, place: Place) -> None:
        await place.acquire()
        worker.jobs.send(("acquire", ticket))

    def _ended(self, worker: _Worker) -> None:
        """The worker is gone: asked to stop, or died (killed, out of memory, a crash in a C
        library). The feeds it still held fail; the next job starts a new worker."""
        if worker in self._workers:
            self._workers.remove(worker)
            self._dead.append(worker)
            worker.jobs.abort()
        for tracked in worker.pending.values():
            if not tracked.done.done():
                tracked.done.set_result(FeedError("the worker process died while handling this feed"))
        worker.pending.clear()
        if not worker.ended.done():
            worker.ended.set_result(None)


def _context() -> BaseContext:
    """How to start a worker. Forking this process is fastest (the worker starts with every
    module already imported), but only safe while it runs no other thread; else a fork server,
    which imports the fetching stack once and forks each worker from that."""
    import multiprocessing

    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    if os.name == "posix":
        context.set_forkserver_preload([__name__, "newsmirror.fetch"])
    return context


def _join(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.process.join()


# ----------------------------------------------------------------------------- in the worker

def _serve(jobs: Connection, results: Connection, settings: FetchSettings,
           parent: int | None) -> None:
    _die_with_parent(parent)
    _keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    asyncio.run(_serve_jobs(jobs, results, settings))


def _die_with_parent(parent: int | None) -> None:
    """A worker must not outlive a killed run: it would write posts beside the next one."""
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: a worker still ends when its job pipe closes
        return
    if parent is not None and os.getppid() != parent:  # it died before the line above
        os._exit(1)


class _Asker:
    """What a job in a worker asks of the main process, by ticket: its place back after a
    backoff, and what the store knows of its channel."""

    def __init__(self, to_main: _Outbox) -> None:
        self._to_main = to_main
        self._waiting: dict[tuple[str, int], asyncio.Future] = {}

    async def ask(self, kind: str, ticket: int) -> object:
        answer = self._waiting[kind, ticket] = asyncio.get_running_loop().create_future()
        self._to_main.send((kind, ticket))
        return await answer

    def answered(self, kind: str, ticket: int, *answer: object) -> None:
        self._waiting.pop((kind, ticket)).set_result(answer[0] if answer else None)


class _RemoteGate:
    """A job's place, held in the main process: the job comes with it; giving it back and
    getting it again go through the pipes."""

    def __init__(self, ticket: int, to_main: _Outbox, asker: _Asker) -> None:
        self._ticket, self._to_main, self._asker = ticket, to_main, asker
        self.held = True

    async def acquire(self) -> None:
        if not self.held:
            await self._asker.ask("acquire", self._ticket)
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._to_main.send(("release", self._ticket))


def _keep_freed_memory() -> None:
    """Let glibc keep up to 32 MB of freed memory rather than hand it back at once.

    Each feed's parse allocates and frees a few MB; by default the heap's top was given back
    to the kernel and taken again tens of thousands of times a run (brk), each time as fresh
    zeroed pages: a cold run's kernel time fell by a third without it.
    """
    try:
        import ctypes
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc = ctypes.CDLL(None)
        libc.mallopt(M_TRIM_THRESHOLD, 32 << 20)
        libc.mallopt(M_MMAP_THRESHOLD, 4 << 20)  # a feed's bytes from the heap, not an mmap each
    except (OSError, AttributeError):  # not glibc
        pass


async def _serve_jobs(jobs: Connection, results: Connection, settings: FetchSettings) -> None:
    from .fetch import Fetcher

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[list[tuple | None]] = asyncio.Queue()
    # At end of file (the main process is gone), as if told to stop.
    await _Inbox.open(jobs, inbox.put_nowait, partial(inbox.put_nowait, [None]))
    outbox = await _Outbox.open(results)
    # Large feeds are parsed and written in a thread, one at a time, so the downloads go on
    # meanwhile and a feed that takes long to parse does not eat into the others' timeouts.
    cpu = ThreadPoolExecutor(1, thread_name_prefix="newsmirror-update")
    asker = _Asker(outbox)

    async def run_job(ticket: int, job: ChannelJob, ask_known: bool) -> None:
        known = (lambda: asker.ask("known", ticket)) if ask_known else None
        result = await fetch_and_update(
            fetcher, job, known, _RemoteGate(ticket, outbox, asker),
            lambda work: loop.run_in_executor(cpu, work))
        outbox.send(("done", ticket, result))

    running: set[asyncio.Task[None]] = set()
    async with Fetcher(settings) as fetcher:
        ended = False
        while not ended:
            for message in await inbox.get():
                if message is None:
                    ended = True
                elif message[0] != "job":
                    asker.answered(*message)
                else:
                    task = asyncio.create_task(run_job(*message[1:]))
                    running.add(task)
                    task.add_done_callback(running.discard)
        await asyncio.gather(*running)
    await outbox.close()
    cpu.shutdown()
