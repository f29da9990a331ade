"""Hot reload of the document on SIGHUP: everything is rebuilt beside the running apps, then swapped in at once.

The listening sockets stay; each is served through a `Swappable`, which hands new requests to the newest app
and lets requests already inside an older one finish (up to the grace period) before that app's lifespan is
shut down and its upstream connections closed. If anything about the new document is wrong, nothing is
swapped: the old document keeps serving and the error log says why. The document is loaded in a thread, so a
large or hostile one never stalls the ports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capgate.core.errors import CapgateError, ConfigurationError
from capgate.document.models import ExposesMcp
from capgate.gateway.apps import ServedApp
from capgate.gateway.assembly import Gateway

logger = logging.getLogger("capgate.reload")

LOAD_TIMEOUT = 30.0  # seconds a reload may spend loading the document; the loader's bounds keep it far below


class _Lifespan:
    """Runs an ASGI app's lifespan (startup, then shutdown) outside a server, as uvicorn would."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}

        async def run() -> None:
            await self._app(scope, self._inbox.get, self._outbox.put)

        self._task = asyncio.create_task(run())
        await self._exchange("lifespan.startup")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            await self._exchange("lifespan.shutdown")
            await self._task

    async def _exchange(self, event: str) -> None:
        await self._inbox.put({"type": event})
        assert self._task is not None
        answer = asyncio.create_task(self._outbox.get())
        await asyncio.wait([answer, self._task], return_when=asyncio.FIRST_COMPLETED)
        if not answer.done():  # the app ended without answering: it has no lifespan to run
            answer.cancel()
            return
        if answer.result()["type"].endswith(".failed"):
            raise ConfigurationError(f"{event} failed: {answer.result().get('message', 'no reason given')}")


class Swappable:
    """An ASGI app that forwards to whichever app was swapped in last."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lifespans: dict[int, _Lifespan] = {}
        self._in_flight: dict[int, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        app = self.app
        key = id(app)
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            await app(scope, receive, send)
        finally:
            if key in self._in_flight:  # else its app was retired while this request outlived the grace period
                self._in_flight[key] -= 1

    async def prepare(self, app: ASGIApp) -> None:
        """Run `app`'s lifespan start-up, before `switch` sends requests to it."""
        await self._start(app)

    async def discard(self, app: ASGIApp) -> None:
        """Shut down a prepared `app` that will not be switched to."""
        await self._stop(app)

    async def switch(self, app: ASGIApp, grace: float) -> None:
        """Send new requests to the prepared `app`, then retire the old one once its requests are done."""
        old, self.app = self.app, app
        waited = 0.0
        while self._in_flight.get(id(old), 0) and waited < grace:
            await asyncio.sleep(0.01)
            waited += 0.01
        await self._stop(old)

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._start(self.app)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop(self.app)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self, app: ASGIApp) -> None:
        lifespan = _Lifespan(app)
        await lifespan.start()
        self._lifespans[id(app)] = lifespan

    async def _stop(self, app: ASGIApp) -> None:
        self._in_flight.pop(id(app), None)
        lifespan = self._lifespans.pop(id(app), None)
        if lifespan is not None:
            await lifespan.stop()


class Reloader:
    """Loads the documents again and swaps every HTTP listener to them, or changes nothing and says why."""

    def __init__(
        self,
        gateway: Gateway,
        swappables: list[Swappable],
        *,
        load: Callable[[], Gateway],
        build: Callable[[Gateway], list[ServedApp]],
        grace: float,
    ) -> None:
        self.gateway = gateway
        self._swappables = swappables
        self._load = load
        self._build = build
        self._grace = grace
        self._lock = asyncio.Lock()

    async def reload(self) -> bool:
        """True when the new document is being served."""
        async with self._lock:
            try:
                # Off the event loop: a document may be hostile (the loader bounds its size, depth and aliases,
                # but even a bounded parse takes a while), and both ports keep answering meanwhile.
                gateway = await asyncio.wait_for(asyncio.to_thread(self._load), LOAD_TIMEOUT)
                served = self._build(gateway)
                apps = [one.app for one in served]
                if len(apps) != len(self._swappables):
                    raise ConfigurationError(
                        f"the documents now need {len(apps)} HTTP ports instead of "
                        f"{len(self._swappables)}; restart capgate to change its adapters"
                    )
                await gateway.open()
            except CapgateError as exc:
                logger.error("reload refused, still serving the previous document: %s", exc)
                return False
            except TimeoutError:
                logger.error(
                    "reload refused, still serving the previous document: loading it took longer than %.0f s",
                    LOAD_TIMEOUT,
                )
                return False
            except Exception:
                logger.exception("reload failed, still serving the previous document")
                return False
            # Every new app starts before any is switched to: a start-up that fails leaves the old document on
            # every port, not on some.
            prepared: list[tuple[Swappable, ASGIApp]] = []
            try:
                for swappable, app in zip(self._swappables, apps, strict=True):
                    await swappable.prepare(app)
                    prepared.append((swappable, app))
            except Exception:
                logger.exception("reload failed while its apps started, still serving the previous document")
                for swappable, app in prepared:
                    await swappable.discard(app)
                await gateway.close()
                return False
            old, self.gateway = self.gateway, gateway
            # The servers report into this set and the control port reads it: every listener is about to serve
            # the new adapters, so an adapter the edit renamed or removed is no longer started, and its successor is.
            gateway.started = old.started
            gateway.started.difference_update(_http_namespaces(old))
            gateway.started.update(namespace for one in served for namespace in one.namespaces)
            await asyncio.gather(*(swappable.switch(app, self._grace) for swappable, app in prepared))
            await old.close()
            logger.info("reloaded %s: %d operations", ", ".join(gateway.loaded.files), len(gateway.operations))
            return True


def _http_namespaces(gateway: Gateway) -> set[str]:
    """The adapters a reload switches: all but stdio MCP servers, which keep the document they started with."""
    exposes = gateway.loaded.document.capability.exposes
    return {
        adapter.namespace
        for adapter in exposes
        if not (isinstance(adapter, ExposesMcp) and adapter.transport == "stdio")
    }
