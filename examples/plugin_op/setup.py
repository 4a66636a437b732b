"""The C extension: the native CPU kernel, compiled against graphrt_cpu.h (no NumPy headers needed)."""

import graphrt_cpu
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "graphcore_l2norm._native",
            ["src/graphcore_l2norm/_native.c"],
            include_dirs=[graphrt_cpu.get_include()],
        )
    ]
)
