"""Build hook: compiles the optional AES-NI chunker accelerator; lkvault works without it."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lkvault.vault.format._cdc",
            sources=["vault/format/_cdc.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
