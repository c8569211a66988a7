"""`lkvault browse`: a local, token-guarded web page over any snapshot of a vault.

Pure pieces (text search, the per-snapshot catalog, people across snapshots, what changed,
presentation helpers) have no I/O; ``source`` reads snapshots from the vault in memory,
``webapp`` (routes), ``rendering`` (templates, the page frame, waiting for what a page needs),
``pages``, ``downloads``, ``livesearch`` (JSON while someone types) and ``guard`` make the
Starlette application, ``serve`` runs it with uvicorn on 127.0.0.1.
"""
