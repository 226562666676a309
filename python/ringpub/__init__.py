"""ringpub for Python: baseplate.py's EventQueue over a ringpub ring.

A baseplate service switches transport by changing one import::

    # from baseplate.lib.events import EventQueue, EventTooLargeError, EventQueueFullError
    from ringpub import EventQueue, EventTooLargeError, EventQueueFullError, serialize_v2_event

    queue = EventQueue("production", serialize_v2_event)
    queue.put(event)          # never blocks; raises at once when full or too large

``put`` serializes the event (a ``str`` is sent as UTF-8), refuses more than
MAX_EVENT_SIZE bytes (``EventTooLargeError``, as baseplate) and copies it
into the shared-memory ring of queue ``name`` (in $RINGPUB_DIR, default
/dev/shm) without a system call; a full ring raises ``EventQueueFullError``.
The ``ringpub`` daemon (``ringpub --queue NAME --config config.ini``) ships
the events. The put path is the C extension ``ringpub._ringpub``.

When baseplate is installed, ``EventQueue`` is a baseplate ``ContextFactory``
and ``config.Parser`` (so ``configure_context`` and ``add_to_context`` take
it), and the exceptions are subclasses of baseplate's own, so existing
``except baseplate.lib.events.EventQueueFullError`` clauses keep working.
"""
import typing

from . import _ringpub

__all__ = [
    "EventQueue",
    "EventError",
    "EventTooLargeError",
    "EventQueueFullError",
    "QueueClosedError",
    "serialize_v2_event",
    "MAX_EVENT_SIZE",
    "MAX_QUEUE_SIZE",
]

MAX_EVENT_SIZE = 102400  # as baseplate.lib.events
MAX_QUEUE_SIZE = 10000  # as baseplate.lib.events (a count of events there; the ring is sized in bytes)

try:  # baseplate's classes, when it is installed
    from baseplate.clients import ContextFactory as _ContextFactory
    from baseplate.lib import config as _config
    from baseplate.lib import events as _bp_events

    _BpError, _BpTooLarge, _BpFull = _bp_events.EventError, _bp_events.EventTooLargeError, _bp_events.EventQueueFullError
    _bases: typing.Tuple[type, ...] = (_ContextFactory, _config.Parser)
except ImportError:
    _BpError = _BpTooLarge = _BpFull = Exception
    _bases = ()


class EventError(_BpError):  # type: ignore[valid-type,misc]
    """Base class for event related exceptions."""


class EventTooLargeError(EventError, _BpTooLarge):  # type: ignore[valid-type,misc]
    """Raised when a serialized event is too large to send."""

    def __init__(self, size: int):
        Exception.__init__(self, f"Event is too large to send ({size:d} bytes)")
        self.size = size


class EventQueueFullError(EventError, _BpFull):  # type: ignore[valid-type,misc]
    """Raised when the queue of events is full: the publisher is behind."""

    def __init__(self) -> None:
        Exception.__init__(self, "The event queue is full.")


class QueueClosedError(EventError, ValueError):
    """Raised by any use of an EventQueue after close()."""


def serialize_v2_event(event):
    """baseplate's v2 serializer (Thrift TJSONProtocol) when baseplate or
    thrift is installed; bytes and str pass through unchanged."""
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return event.encode("utf-8")
    try:
        from baseplate.lib.events import serialize_v2_event as real
    except ImportError:
        from thrift import TSerialization
        from thrift.protocol.TJSONProtocol import TJSONProtocolFactory

        return TSerialization.serialize(event, TJSONProtocolFactory())
    return real(event)


_ringpub._configure(EventError, EventTooLargeError, EventQueueFullError, QueueClosedError, serialize_v2_event)


def _gid_of(group) -> int:
    if group is None:
        return -1
    if isinstance(group, int):
        return group
    import grp

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise EventError(f"no group {group!r}") from None


T = typing.TypeVar("T")


class EventQueue(_ringpub.Queue, *_bases):  # type: ignore[misc]
    """A queue to transfer events to the publisher (baseplate's API).

    :param name: the queue (ring) name, as given to ``ringpub --queue``.
    :param event_serializer: a callable taking an event and returning bytes
        (or str, sent as UTF-8).
    :param capacity, max_event: used only if this call creates the ring
        (defaults: 16 MiB, 102400 bytes).
    :param directory: the ring directory (default $RINGPUB_DIR or /dev/shm).
    :param group: a group name or gid to share the ring with (the daemon
        running as another user in that group): a ring this call creates
        gets it and mode 0660, and one another user created is accepted if
        it has it. A set-group-ID ring directory (mode 2770) does the same
        for its own group without this.
    :param mode: file mode of a ring this call creates (default 0600, 0660
        when shared with a group).
    :param populate: pre-fault the whole mapping at open (default False:
        pages are touched as events are written, so an open costs well under
        a millisecond and memory grows only with use).
    :param create: create the ring if it does not exist (default True).
    """

    def __init__(self, name: str, event_serializer=serialize_v2_event, capacity: int = 0, max_event: int = 0,
                 directory: typing.Optional[str] = None, group=None, mode: int = 0, populate: bool = False,
                 create: bool = True):
        super().__init__(name, directory, capacity, max_event, _gid_of(group), mode, populate, create,
                         event_serializer)
        self.name = name

    def __class_getitem__(cls, item):  # EventQueue[bytes], as baseplate's Generic[T]
        return cls

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ringpub.EventQueue {self.name!r}{' closed' if self.closed else ''}>"

    # baseplate's ContextFactory / config.Parser: wired like baseplate's own
    def make_object_for_context(self, name, span):
        if self.closed:
            raise QueueClosedError("the event queue is closed")
        return self

    def parse(self, key_path, raw_config):
        if self.closed:
            raise QueueClosedError("the event queue is closed")
        return self
