"""Django set up once (the minimal settings module next to this file), and
each test's rings in a fresh directory on tmpfs ($RINGPUB_DIR)."""
import os
import shutil
import sys
import tempfile

import django
import pytest

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django.setup()


@pytest.fixture()
def ring_dir(monkeypatch):
    d = tempfile.mkdtemp(prefix="rp-et-", dir="/dev/shm")
    monkeypatch.setenv("RINGPUB_DIR", d)
    yield d
    shutil.rmtree(d, ignore_errors=True)
