"""The repository layer: key slots, packs of sealed frames, the index, snapshots and locks."""
