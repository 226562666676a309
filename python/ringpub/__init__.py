"""ringpub for Python: baseplate.py's EventQueue over a ringpub ring.

A baseplate service switches transport by changing one import::

    # from baseplate.lib.events import EventQueue, EventTooLargeError, EventQueueFullError
    from ringpub import EventQueue, EventTooLargeError, EventQueueFullError, serialize_v2_event

    queue = EventQueue("production", serialize_v2_event)
    queue.put(event)          # never blocks; raises at once when full or too large

``put`` serializes the event, refuses more than MAX_EVENT_SIZE bytes
(``EventTooLargeError``, as baseplate) and copies it into the shared-memory
ring of queue ``name`` (in $RINGPUB_DIR, default /dev/shm) without a system
call; a full ring raises ``EventQueueFullError``. The ``ringpub`` daemon
(``ringpub --queue-name NAME config.ini``) ships the events.

Standard library only: the producer is called through ctypes in
``libringpub_py.so`` (built by ``zig build``; found through $RINGPUB_LIB,
next to this package, or in zig-out/lib of the source tree).
"""
import ctypes
import os

__all__ = [
    "EventQueue",
    "EventError",
    "EventTooLargeError",
    "EventQueueFullError",
    "serialize_v2_event",
    "MAX_EVENT_SIZE",
]

MAX_EVENT_SIZE = 102400  # as baseplate.lib.events
_RP_EFULL, _RP_ETOOBIG = -1, -2


class EventError(Exception):
    """Base class for event related exceptions."""


class EventTooLargeError(EventError):
    """Raised when a serialized event is too large to send."""

    def __init__(self, size: int):
        super().__init__(f"Event is too large to send ({size:d} bytes)")


class EventQueueFullError(EventError):
    """Raised when the queue of events is full: the publisher is behind."""

    def __init__(self) -> None:
        super().__init__("The event queue is full.")


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


def _find_library():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.environ.get("RINGPUB_LIB", ""),
        os.path.join(here, "libringpub_py.so"),
        os.path.join(here, "..", "..", "zig-out", "lib", "libringpub_py.so"),
    ]
    for path in candidates:
        if path and os.path.exists(path):
            return path
    raise ImportError("libringpub_py.so not found: build it with `tools/zig build` or set RINGPUB_LIB")


_lib = ctypes.CDLL(_find_library())
_lib.rpy_open.restype = ctypes.c_void_p
_lib.rpy_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int64,
                          ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_size_t]
_lib.rpy_put.restype = ctypes.c_int
_lib.rpy_put.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
_lib.rpy_max_event.restype = ctypes.c_size_t
_lib.rpy_max_event.argtypes = [ctypes.c_void_p]
_lib.rpy_close.restype = None
_lib.rpy_close.argtypes = [ctypes.c_void_p]
_lib.rpy_strerror.restype = ctypes.c_char_p
_lib.rpy_strerror.argtypes = [ctypes.c_int]


def _gid_of(group: str) -> int:
    import grp
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise EventError(f"no group {group!r}") from None


class EventQueue:
    """A queue to transfer events to the publisher (baseplate's API).

    :param name: the queue (ring) name, as given to ``ringpub --queue-name``.
    :param event_serializer: a callable taking an event and returning bytes.
    :param capacity, max_event: only used if this call creates the ring
        (defaults: 16 MiB, 102400 bytes).
    :param directory: the ring directory (default $RINGPUB_DIR or /dev/shm).
    :param group: a group name or gid to share the ring with (the daemon
        running as another user in that group): a ring this call creates
        gets it and mode 0660, and one another user created is accepted if
        it has it. A set-group-ID ring directory (mode 2770) does the same
        for its own group without this.
    """

    def __init__(self, name, event_serializer=serialize_v2_event, capacity=0, max_event=0, directory=None,
                 group=None):
        rc = ctypes.c_int(0)
        why = ctypes.create_string_buffer(300)
        gid = -1 if group is None else group if isinstance(group, int) else _gid_of(group)
        handle = _lib.rpy_open(name.encode(), directory.encode() if directory else None, capacity, max_event,
                               gid, ctypes.byref(rc), why, len(why))
        if not handle:
            raise EventError(f"cannot open queue {name}: {why.value.decode(errors='replace')}")
        self._q = handle
        self._put = _lib.rpy_put
        self.serialize_event = event_serializer
        self.max_event = min(MAX_EVENT_SIZE, _lib.rpy_max_event(handle))

    def put(self, event) -> None:
        """Add an event to the queue; never blocks.

        :raises EventTooLargeError: the serialized event is too large.
        :raises EventQueueFullError: the queue is full (events are not being
            published fast enough).
        """
        serialized = self.serialize_event(event)
        if len(serialized) > self.max_event:
            raise EventTooLargeError(len(serialized))
        rc = self._put(self._q, serialized, len(serialized))
        if rc == 0:
            return
        if rc == _RP_EFULL:
            raise EventQueueFullError
        if rc == _RP_ETOOBIG:
            raise EventTooLargeError(len(serialized))
        raise EventError(_lib.rpy_strerror(rc).decode())

    def close(self) -> None:
        if self._q:
            _lib.rpy_close(self._q)
            self._q = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # baseplate's ContextFactory / config.Parser hooks, so it can be wired the same way
    def make_object_for_context(self, name, span):
        return self

    def parse(self, key_path, raw_config):
        return self
