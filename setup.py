"""Build hook: compiles the optional C accelerators (chunker, rows, cells, deflate)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lkvault.vault.format._cdc",
            sources=["vault/format/_cdc.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "lkvault.vault.format._rows",
            sources=["vault/format/_rows.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "lkvault.vault.format._cells",
            sources=["vault/format/_cells.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "lkvault.vault.format._deflate",
            sources=["vault/format/_deflate.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
    ]
)
