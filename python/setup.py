"""Builds ringpub's C extension (ringpub._ringpub) against the limited API
of Python 3.8, so one abi3 wheel serves 3.8 and later. The producer is the
header-only include/ringpub.h: `cinclude` links to the checkout's include/
(an sdist carries a copy). tools/python-wheel builds the manylinux wheel
with Zig's C compiler; any C compiler builds the sdist."""
import os
import re

from setuptools import Extension, setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "cinclude", "ringpub.h")) as h:  # one version: RP_VERSION
    version = re.search(r'^#define RP_VERSION "([^"]+)"', h.read(), re.M).group(1)
plat = os.environ.get("RINGPUB_WHEEL_PLAT")  # e.g. manylinux2014_x86_64 (tools/python-wheel)
options = {"bdist_wheel": {"py_limited_api": "cp38"}}
if plat:
    options["bdist_wheel"]["plat_name"] = plat

setup(
    version=version,
    ext_modules=[
        Extension(
            "ringpub._ringpub",
            sources=["src/ringpub_ext.c"],
            include_dirs=[os.path.join(here, "cinclude")],
            define_macros=[("Py_LIMITED_API", "0x03080000")],
            extra_compile_args=["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
            libraries=["pthread"],
            py_limited_api=True,
        )
    ],
    options=options,
)
