"""metrics: Prometheus text for /metrics, through prometheus-client, in a registry
of the app's own (two apps in one process never share counters).

The fan-out path counts into plain integers (``Count``, ``Buckets``) that a
collector reads at scrape time: prometheus-client's own counters take a lock on
every increment, which under gevent is a greenlet lock and cost 7% of the server
in the benchmark. Never counts per line, only per batch or chunk."""

from __future__ import annotations

import gc
from bisect import bisect_left

import greenlet
from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Count:
    """A counter without a lock: only greenlets of one hub touch it."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


class Buckets:
    """A histogram without a lock."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        cumulative, running = [], 0
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return HistogramMetricFamily(name, doc, buckets=cumulative, sum_value=self.sum)


class Metrics:
    def __init__(self, topics) -> None:
        self.registry = CollectorRegistry()
        self.streams = Gauge("logstream_open_streams", "Open line streams (SSE or text).", registry=self.registry)
        self.file_listeners = Gauge("logstream_file_list_streams", "Open /api/files/events streams.",
                                    registry=self.registry)
        self.lines_sent = Count()
        self.bytes_sent = Count()
        self.encodings = Count()
        self.latency = Buckets(LATENCY_BUCKETS)
        self.catchups = Counter("logstream_catchups", "Times a slow client's queue overflowed and it caught "
                                "up from the file instead.", registry=self.registry)
        self.disconnects = Counter("logstream_disconnects", "Streams ended, by reason.", ["reason"],
                                   registry=self.registry)
        self.rejected = Counter("logstream_rejected_requests", "Requests refused, by HTTP status.", ["status"],
                                registry=self.registry)
        self.unfinished = Gauge("logstream_unfinished_requests", "Connections still sending their request head, "
                                "or idle between keep-alive requests (python -m logstream only).",
                                registry=self.registry)
        self.searches = Gauge("logstream_searches", "Searches (/api/search) running.", registry=self.registry)
        self.search_scanned = Count()
        self.search_scanned_entries = Count()  # a Redis node's searches count entries, not bytes
        topics_ref = topics
        metrics = self

        class _PerFile:
            def collect(self):
                yield CounterMetricFamily("logstream_sent_lines", "Log lines handed to clients (live and "
                                          "catch-up).", value=metrics.lines_sent.value)
                yield CounterMetricFamily("logstream_sent_bytes", "Bytes of stream bodies handed to clients.",
                                          value=metrics.bytes_sent.value)
                yield CounterMetricFamily("logstream_batch_encodings", "Batches of lines turned into bytes "
                                          "(once per batch per distinct filter and format, however many "
                                          "clients).", value=metrics.encodings.value)
                yield CounterMetricFamily("logstream_search_scanned_bytes", "Bytes of history read by "
                                          "searches (compressed files: compressed bytes).",
                                          value=metrics.search_scanned.value)
                yield CounterMetricFamily("logstream_search_scanned_entries", "Redis stream entries read by "
                                          "searches on a scale-out web node.",
                                          value=metrics.search_scanned_entries.value)
                yield metrics.latency.family("logstream_delivery_seconds", "From reading a batch of lines off "
                                             "the file to handing it to a live client's connection.")
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

    def search_started(self) -> None:
        self.searches.inc()

    def search_ended(self) -> None:
        self.searches.dec()

    def catchup(self) -> None:
        self.catchups.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
