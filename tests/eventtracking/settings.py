"""The minimal Django settings module event-tracking's DjangoTracker needs:
ringpub's backend from EVENT_TRACKING_BACKENDS, as a site would set it. The
ring directory comes from $RINGPUB_DIR at the first event."""
SECRET_KEY = "ringpub-tests-only"
USE_TZ = True
INSTALLED_APPS = []
EVENT_TRACKING_BACKENDS = {
    "ringpub": {
        "ENGINE": "ringpub.eventtracking.RingpubBackend",
        "OPTIONS": {"queue": "tracking", "report_interval": 3600},
    },
}
