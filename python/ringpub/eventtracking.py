"""An Open edX event-tracking backend that puts each event into a ringpub
queue; the ringpub daemon ships them (to a collector, JetStream or a file).

Django settings::

    EVENT_TRACKING_BACKENDS = {
        "ringpub": {
            "ENGINE": "ringpub.eventtracking.RingpubBackend",
            "OPTIONS": {"queue": "tracking"},
        },
    }

Events are serialized as event-tracking's own LoggerBackend does (``json.dumps``
with its ``DateTimeJSONEncoder``: datetimes in UTC ISO 8601). ``send`` never
raises into ``tracker.emit``: an event that cannot be serialized, is too large,
or finds the queue full (or not openable) is dropped, counted in ``counts``,
and reported by one warning per ``report_interval`` seconds, not one per event.
"""
import json
import logging
import threading
import time

from . import EventError, EventQueue, EventQueueFullError, EventTooLargeError

try:
    from eventtracking.backends.logger import DateTimeJSONEncoder
except ImportError:  # the same rules without event-tracking installed
    import datetime

    class DateTimeJSONEncoder(json.JSONEncoder):  # type: ignore[no-redef]
        """datetimes as UTC ISO 8601 (naive ones taken as UTC), dates as ISO."""

        def default(self, obj):
            if isinstance(obj, datetime.datetime):
                if obj.tzinfo is None:
                    obj = obj.replace(tzinfo=datetime.timezone.utc)
                else:
                    obj = obj.astimezone(datetime.timezone.utc)
                return obj.isoformat()
            if isinstance(obj, datetime.date):
                return obj.isoformat()
            return super().default(obj)


LOG = logging.getLogger(__name__)
DROPS = ("full", "too_large", "unserializable", "unavailable")


class RingpubBackend:
    """event-tracking backend: ``send(event)`` puts the event into queue
    ``queue``.

    :param queue: the ringpub queue name (``ringpub --queue``).
    :param report_interval: seconds between two warnings about dropped events.
    :param options: passed to ``ringpub.EventQueue`` (``directory``, ``group``,
        ``capacity``, ``max_event``, ``mode``...). The queue is opened at the
        first event (so a pre-fork master that never emits opens nothing), and
        again at most once per ``report_interval`` while it cannot be opened.
    """

    def __init__(self, queue="tracking", report_interval=60.0, **options):
        self.queue_name = queue
        self.report_interval = float(report_interval)
        self.options = options
        self.counts = dict.fromkeys(("sent",) + DROPS, 0)
        self._queue = None
        self._lock = threading.Lock()
        self._next_open = 0.0
        self._reported = dict.fromkeys(DROPS, 0)
        self._next_report = 0.0

    def send(self, event):
        """Serialize and put one event; never raises."""
        try:
            data = json.dumps(event, cls=DateTimeJSONEncoder).encode("utf-8")
        except (TypeError, ValueError):
            return self._drop("unserializable")
        q = self._queue or self._open()
        if q is None:
            return self._drop("unavailable")
        try:
            q.put(data)
        except EventQueueFullError:
            return self._drop("full")
        except EventTooLargeError:
            return self._drop("too_large")
        except EventError:
            return self._drop("unavailable")
        self.counts["sent"] += 1
        return None

    def close(self):
        """Close the queue (a later send opens it again)."""
        with self._lock:
            if self._queue is not None:
                self._queue.close()
                self._queue = None

    def _open(self):
        with self._lock:
            now = time.monotonic()
            if self._queue is None and now >= self._next_open:
                try:
                    self._queue = EventQueue(self.queue_name, None, **self.options)
                except EventError as e:
                    self._next_open = now + self.report_interval
                    LOG.warning("ringpub: cannot open queue %r (retrying in %.0f s): %s", self.queue_name,
                                self.report_interval, e)
            return self._queue

    def _drop(self, why):
        self.counts[why] += 1
        now = time.monotonic()
        if now < self._next_report:
            return None
        with self._lock:
            if now < self._next_report:
                return None
            self._next_report = now + self.report_interval
            new = {k: self.counts[k] - self._reported[k] for k in DROPS}
            self._reported = {k: self.counts[k] for k in DROPS}
        LOG.warning("ringpub: dropped %d event(s) for queue %r since the last report (%s); next report in %.0f s",
                    sum(new.values()), self.queue_name, ", ".join(f"{k} {v}" for k, v in new.items() if v),
                    self.report_interval)
        return None
