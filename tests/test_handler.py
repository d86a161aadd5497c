"""The WSGI handler's own socket work, in-process on a loopback port: what every
response's bytes go through."""

import socket

import gevent
import gevent.socket
from gevent import pywsgi

from logstream.handler import Handler


def serve(app):
    server = pywsgi.WSGIServer(("127.0.0.1", 0), app, handler_class=Handler, log=None)
    server.start()
    return server


def request(port: int, path: str = "/", headers: str = "") -> bytes:
    conn = gevent.socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n".encode())
        out = b""
        while chunk := conn.recv(65536):
            out += chunk
        return out
    finally:
        conn.close()


def test_client_sockets_have_nagle_off():
    # A live stream is a run of small writes; with Nagle on, each one made while
    # the previous is unacknowledged waits for the client's delayed ACK (~40 ms).
    def app(environ, start_response):
        sock = environ["logstream.handler"].socket
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"nodelay=%d" % sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)]

    server = serve(app)
    try:
        assert request(server.server_port).endswith(b"nodelay=1")
    finally:
        server.stop()


def test_chunks_are_framed_correctly_without_copying_them():
    parts = [b"a" * 10, b"", b"b" * 70_000, b"c"]

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter(parts)

    server = serve(app)
    try:
        raw = request(server.server_port)
    finally:
        server.stop()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    expected = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n\r\n"
    assert body == expected


def test_a_chunk_bigger_than_the_socket_buffers_arrives_whole():
    big = bytes(range(256)) * 32_000  # 8 MB: more than the socket buffers, so many partial sends

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return iter([big])  # an iterator: chunked, not Content-Length

    server = serve(app)
    try:
        conn = gevent.socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = bytearray()
        while chunk := conn.recv(16384):
            out += chunk
            gevent.sleep(0)
        conn.close()
    finally:
        server.stop()
    body = bytes(out).partition(b"\r\n\r\n")[2]
    assert body == b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)


def test_a_connection_holds_a_small_read_buffer_and_long_requests_still_parse():
    # Thousands of idle streams each keep their handler's read buffer; pywsgi's
    # default is 8 KiB, most of an idle connection's memory. A request bigger than
    # the buffer (long URL, a big cookie) must still arrive whole.
    import sys

    seen = {}

    def app(environ, start_response):
        seen["buffer"] = sys.getsizeof(environ["logstream.handler"].rfile)
        seen["cookie"] = environ.get("HTTP_COOKIE", "")
        seen["path"] = environ["PATH_INFO"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = serve(app)
    cookie = "s=" + "x" * 6000
    path = "/" + "p" * 3000
    try:
        out = request(server.server_port, path, headers=f"Cookie: {cookie}\r\n")
    finally:
        server.stop()
    assert out.endswith(b"ok")
    assert seen["cookie"] == cookie and seen["path"] == path
    assert seen["buffer"] < 2048  # the buffer itself is counted in the reader's size


def handler_after_three_requests(touch=None):
    """The handler of a connection that served three requests under logstream's
    Listener, as the app saw it; ``touch(handler)`` runs inside each request."""
    from logstream.listener import Listener, Unfinished

    seen = {}

    def app(environ, start_response):
        handler = seen["handler"] = environ["logstream.handler"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        if touch is not None:
            touch(handler)
        return [b"ok"]

    handler = type("Handler", (Handler,), {"header_timeout": 5.0, "write_timeout": 30.0})
    server = Listener(("127.0.0.1", 0), app, handler_class=handler, log=None, unfinished=Unfinished(10, 5))
    server.start()
    try:
        for _ in range(3):
            assert request(server.server_port).endswith(b"ok")
    finally:
        server.stop()
    return seen["handler"]


def test_an_idle_connection_keeps_its_handler_attributes_in_a_shared_key_dict():
    # CPython shares the keys of instance dicts up to 30 names per class; pywsgi's
    # handler sets 28. One name too many and every idle stream's handler dict grows
    # from about 300 bytes to 1.5 KB (scenario E, docs/benchmarks.md).
    import sys

    assert sys.getsizeof(handler_after_three_requests().__dict__) < 512


def test_a_live_streams_handler_keeps_its_shared_key_dict_too():
    # The state of the direct-write path and of the hang-up watch lives in one
    # slotted object on one attribute: an idle stream's handler stays small.
    import sys

    def as_a_stream_waits(handler):  # around each idle wait
        handler.watch_hangup(lambda: None)
        handler.unwatch_hangup()

    handler = handler_after_three_requests(as_a_stream_waits)
    assert handler._live is not None
    assert sys.getsizeof(handler.__dict__) < 512
