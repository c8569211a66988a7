"""`lkvault browse`: a local, token-guarded web page over one snapshot of a vault.

Pure pieces (text search, the per-snapshot catalog, history across snapshots, contact
files) have no I/O; ``source`` reads snapshots from the vault, ``webapp`` and ``guard`` make
the Starlette application, ``serve`` runs it with uvicorn on 127.0.0.1.
"""
