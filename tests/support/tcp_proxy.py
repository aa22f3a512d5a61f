"""A TCP proxy between a client and the real broker, to inject network faults without touching the broker.

``freeze()`` stops carrying bytes (a broker that no longer answers), ``thaw()`` resumes,
``cut()`` drops every open connection (a lost network), while the broker itself runs on.
``freeze_once_open()`` lets the next connection open, then freezes: a node that lets clients in
and answers nothing after, as one cut off from its cluster's majority does for its quorum queues.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

OPEN_OK = bytes.fromhex("01000000000005000a002900ce")
"""Connection.Open-Ok, the broker's last frame of the AMQP handshake: the connection is open."""


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._frozen_once_open: threading.Event | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True).start()

    def freeze(self) -> None:
        self._flowing.clear()

    def freeze_once_open(self) -> threading.Event:
        """Freeze right after the broker's Open-Ok passes; the event is set then."""
        self._frozen_once_open = threading.Event()
        return self._frozen_once_open

    def thaw(self) -> None:
        self._flowing.set()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()
        self.cut()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        # Each socket by its descriptor, with its peer: a selector key's fileobj is typed as any file-like.
        routes = {client.fileno(): (client, upstream), upstream.fileno(): (upstream, client)}
        with selectors.DefaultSelector() as selector:
            for sock in (client, upstream):
                selector.register(sock, selectors.EVENT_READ)
            while not self._closed.is_set():
                self._flowing.wait()
                for key, _ in selector.select(timeout=0.1):
                    source, destination = routes[key.fd]
                    if not self._forward(source, destination):
                        self._drop(client, upstream)
                        return

    def _forward(self, source: socket.socket, destination: socket.socket) -> bool:
        try:
            data = source.recv(65536)
            if data:
                destination.sendall(data)
                if self._frozen_once_open is not None and OPEN_OK in data:
                    self.freeze()
                    self._frozen_once_open.set()
            return bool(data)
        except OSError:
            return False

    def _drop(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets -= set(sockets)
        for sock in sockets:
            sock.close()
