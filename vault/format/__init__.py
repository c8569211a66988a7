"""Pure format code: cryptography, encodings, trees, chunking and zstd frames; no I/O here."""
