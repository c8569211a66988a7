"""Operations on an unlocked repository: snapshot, restore, verify, prune, repair, copy, forget."""
