"""metrics: Prometheus text for /metrics, through prometheus-client, in a registry
of the app's own (two apps in one process never share counters). Counts per chunk
and per batch, never per line, so measuring costs nothing on the fan-out path."""

from __future__ import annotations

import gc

import greenlet
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily


class Metrics:
    def __init__(self, topics) -> None:
        self.registry = CollectorRegistry()
        self.streams = Gauge("logstream_open_streams", "Open line streams (SSE or text).", registry=self.registry)
        self.file_listeners = Gauge("logstream_file_list_streams", "Open /api/files/events streams.",
                                    registry=self.registry)
        self.lines_sent = Counter("logstream_sent_lines", "Log lines handed to clients (live and catch-up).",
                                  registry=self.registry)
        self.latency = Histogram("logstream_delivery_seconds", "From reading a batch of lines off the file to "
                                 "handing it to a live client's connection.", registry=self.registry,
                                 buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.bytes_sent = Counter("logstream_sent_bytes", "Bytes of stream bodies handed to clients.",
                                  registry=self.registry)
        self.encodings = Counter("logstream_batch_encodings", "Batches of lines turned into bytes (once per "
                                 "batch per distinct filter and format, however many clients).",
                                 registry=self.registry)
        self.catchups = Counter("logstream_catchups", "Times a slow client's queue overflowed and it caught "
                                "up from the file instead.", registry=self.registry)
        self.disconnects = Counter("logstream_disconnects", "Streams ended, by reason.", ["reason"],
                                   registry=self.registry)
        self.rejected = Counter("logstream_rejected_requests", "Requests refused, by HTTP status.", ["status"],
                                registry=self.registry)
        topics_ref = topics

        class _PerFile:
            def collect(self):
                family = GaugeMetricFamily("logstream_subscribers", "Subscribers per followed file.",
                                           labels=["file"])
                for key, topic in list(topics_ref.topics.items()):
                    family.add_metric([key], len(topic.subscribers))
                yield family
                yield GaugeMetricFamily("logstream_tailers", "Files being followed (one tailer each).",
                                        value=len(topics_ref.topics))
                # Costs a heap walk, once per scrape: the leak tests rely on it.
                yield GaugeMetricFamily("logstream_greenlets", "Live greenlets in the process.",
                                        value=sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet)))

        self.registry.register(_PerFile())
        ProcessCollector(registry=self.registry)

    def stream_opened(self) -> None:
        self.streams.inc()

    def stream_closed(self, reason: str) -> None:
        self.streams.dec()
        self.disconnects.labels(reason).inc()

    def catchup(self) -> None:
        self.catchups.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
