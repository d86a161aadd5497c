"""The greenlet map's promises (docs/architecture.md, "Greenlets"), in-process on
real sockets: a live batch published to a parked client is written to its socket
from the publishing greenlet, without a single greenlet switch. If anything on
that path ever yielded, a stream closing meanwhile could change the topic's
subscriber dict while ``publish`` iterates over it."""

import os
import time

import gevent
import gevent.socket
import greenlet

from logstream.api.params import StreamParams
from logstream.config import Config
from logstream.handler import Handler
from logstream.lines import split_complete
from logstream.segments import Batch
from logstream.sources.local import LocalSource
from logstream.stream import Stream
from logstream.topic import Pinger


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        gevent.sleep(0.005)


def test_publishing_a_batch_to_a_parked_subscriber_never_switches(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("before\n")
    config = Config(root=tmp_path, poll_interval=3600)  # only this test publishes
    source = LocalSource(config)
    ours, theirs = gevent.socket.socketpair()
    handler = Handler(ours, ("127.0.0.1", 0), server=None)
    handler.headers_sent = True  # as after the response head went out
    params = StreamParams(("app.log",), lines=0, format="sse", query=None, last_id=None)
    stream = Stream(source, params, config=config, environ={"logstream.handler": handler}, pinger=Pinger(0))
    client = gevent.spawn(lambda: [ours.sendall(chunk) for chunk in stream])
    try:
        wait_until(lambda: stream.sub.parked)
        theirs.recv(65536)  # the opening retry:
        topic = source.topics.topics["app.log"]
        tailer = topic.tailer
        start = tailer.offset
        with open(log, "ab") as f:
            f.write(b"published\n")
        batch = Batch(tailer.current.seq, tailer.current.ino, start, start + 10,
                      split_complete(b"published\n", start, config.max_line))

        switches = []
        previous = greenlet.settrace(lambda event, args: switches.append(event))
        try:
            topic.publish(batch)
        finally:
            greenlet.settrace(previous)

        assert switches == []
        assert not stream.sub.queue, "the batch went through the queue, not the direct path"
        received = theirs.recv(65536)
        assert received == f"id: {batch.ino:x}-{batch.end}\ndata: published\n\n".encode()
        assert stream.followers[0].cursor.offset == batch.end
    finally:
        client.kill()
        stream.close()  # nothing, once parked: the parked stream ends by itself…
        theirs.close()  # …when its client hangs up
        wait_until(lambda: not source.topics.topics)
        source.stop()
        handler.rfile.close()  # the socket's descriptor closes with its last file object
        ours.close()
        assert os.path.exists(log)
