"""Take input zips apart into literal regions and member contents, and prove how to put them back.

`zipscan` reads a zip's structure through an injected `read_at(offset, length)` and returns its
layout: every byte of the file is either a literal `Region` or a `Member`'s compressed data.
`deflate` inflates one member's data while proving which zlib parameters reproduce its
compressed bytes exactly, and re-compresses content with those parameters on restore.
Neither module opens files itself. `zipingest` and `streams` put the pieces into a repository:
content-defined chunks, row order and the tree that puts the zip back together. `downloads`
finds exports whose download has finished in a folder (for ``lkvault watch``).
"""
