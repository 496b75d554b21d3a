"""A loopback TCP proxy for fault injection: put it between a process and its server,
then `cut()` the line (every open connection closed at once, new ones accepted and
closed straight away) and `restore()` it.

    with TcpProxy(upstream_port=5432) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/db"
        ...
        proxy.cut()      # the server looks gone: connections drop, new ones fail at once
        proxy.restore()  # new connections reach the server again

Threads: one accepts, two per connection pump bytes (one per direction). Nothing global:
each proxy owns its listening socket, its threads and its connections, and `close()`
(or leaving the `with` block) ends them all.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Self

_CHUNK = 65536


class _Link:
    """One proxied connection: the client's socket and the upstream one."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self._closed = False
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sock in (self.client, self.upstream):
            _hard_close(sock)


def _hard_close(sock: socket.socket) -> None:
    # shutdown() wakes a thread blocked in recv() on this socket; close() alone may not.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class TcpProxy:
    def __init__(self, *, upstream_host: str = "127.0.0.1", upstream_port: int, listen_host: str = "127.0.0.1",
                 connect_timeout: float = 3.0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._connect_timeout = connect_timeout
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((listen_host, 0))  # a free port, chosen by the kernel
        self._listener.listen(128)
        self._listener.settimeout(0.1)  # so the accept loop notices close()
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._cut = threading.Event()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor: threading.Thread | None = None
        # Counters, for tests to show the outage was real.
        self.accepted = 0  # connections forwarded
        self.refused = 0  # connections accepted and closed at once while cut
        self.dropped = 0  # open connections closed by cut()

    # -- lifetime ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._acceptor is None:
            self._acceptor = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True)
            self._acceptor.start()
        return self

    def close(self) -> None:
        """Stop listening and close every connection; idempotent."""
        self._closing.set()
        self._drop_all()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- faults -----------------------------------------------------------------------------

    @property
    def is_cut(self) -> bool:
        return self._cut.is_set()

    def cut(self) -> int:
        """Close every open connection at once; new ones are accepted and closed until restore().
        Returns how many connections were dropped."""
        self._cut.set()
        return self._drop_all()

    def restore(self) -> None:
        self._cut.clear()

    def open_connections(self) -> int:
        with self._lock:
            return len(self._links)

    # -- internals --------------------------------------------------------------------------

    def _drop_all(self) -> int:
        with self._lock:
            links, self._links = list(self._links), set()
            self.dropped += len(links)
        for link in links:
            link.close()
        return len(links)

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._closing.is_set():
                    return
                continue
            client.settimeout(None)
            if self._cut.is_set() or self._closing.is_set():
                with self._lock:
                    self.refused += 1
                _hard_close(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=self._connect_timeout)
                upstream.settimeout(None)
            except OSError:
                _hard_close(client)
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, upstream)
            with self._lock:
                if self._cut.is_set() or self._closing.is_set():  # cut() ran while we connected
                    self.refused += 1
                    link_ok = False
                else:
                    self._links.add(link)
                    self.accepted += 1
                    link_ok = True
                    self._threads = [t for t in self._threads if t.is_alive()]
                    pumps = [
                        threading.Thread(target=self._pump, args=(link, client, upstream), daemon=True,
                                         name=f"tcp-proxy-{self.port}-up"),
                        threading.Thread(target=self._pump, args=(link, upstream, client), daemon=True,
                                         name=f"tcp-proxy-{self.port}-down"),
                    ]
                    self._threads += pumps
            if not link_ok:
                link.close()
                continue
            for pump in pumps:
                pump.start()

    def _pump(self, link: _Link, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended (or cut() closed it): end the whole connection, as a dead server would.
            with self._lock:
                self._links.discard(link)
            link.close()
