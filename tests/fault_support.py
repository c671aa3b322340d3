"""Support for the fault tests: scratch databases and a TCP proxy that can cut PostgreSQL off."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator

import sqlalchemy as sa

from kaptracker import normalise_database_url


@contextlib.contextmanager
def scratch_database(database: dict, tmp_path, purpose: str) -> Iterator[str]:
    """A new database of the suite's kind, for a server process of its own: a SQLite file, or a
    PostgreSQL database named after the suite's with a random suffix, dropped afterwards."""
    if database["kind"] == "sqlite":
        yield f"sqlite:///{tmp_path / f'{purpose}.sqlite3'}"
        return
    url = sa.engine.make_url(normalise_database_url(database["url"]))
    name = f"{url.database}_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Proxy:
    """A loopback TCP proxy to ``host:port``. :meth:`cut` closes every open connection and
    refuses new ones at once (accepts, then closes: what a database that has gone away looks like
    to a client); :meth:`restore` forwards again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarding = True
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.closed = False
        threading.Thread(target=self._accept, name="db-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.forwarding:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                self._close(s)

    def _close(self, s: socket.socket) -> None:
        with self.lock:
            self.open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def cut(self) -> None:
        self.forwarding = False
        with self.lock:
            sockets = list(self.open)
        for s in sockets:
            self._close(s)

    def restore(self) -> None:
        self.forwarding = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


def database_via(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parsed = sa.engine.make_url(normalise_database_url(url))
    return parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
