"""The layers hold: import contracts (pyproject.toml, checked by import-linter), front ends
that use only the public API, and that API pinned name by name."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import lkvault.vault

REPO_ROOT = Path(__file__).resolve().parents[1]

# The public API. A change here is a change for every program using lkvault as a library:
# add a name deliberately, and remove or rename one only with a new minor version.
PUBLIC_API = {
    # the vault and its world
    "Vault", "Environment", "VaultConfig", "KdfParams", "version",
    # a vault's passphrases and recovery key (Vault.keys)
    "VaultKeys",
    # errors (vault/errors.py)
    "VaultError", "AccessDenied", "BadInput", "IntegrityError", "RollbackDetected",
    "SnapshotNotFound", "StorageError", "UnsupportedFormat", "UsageError", "VaultExists",
    "VaultLocked", "VaultNotFound",
    # a signal stopped an operation, and what it had stored (issue 18)
    "Interrupted", "stored_message",
    # storage locations
    "Backend", "open_backend", "is_remote", "parse_location", "RemoteOptions", "RetryPolicy",
    "S3Settings", "SshSettings",
    # what operations report
    "Snapshot", "VerifyReport", "Problem", "ForgetPlan", "Policy", "parse_duration",
    "PruneResult", "RepairReport", "VaultStats", "CopyOutcome", "KeySlot", "SlotInfo",
    "encode_paper_key", "Progress", "NoProgress", "Phase", "NoPhase", "write_then_rename",
    "check_replaceable", "CompactResult", "DEFAULT_COMPACT_MEMORY",
    # text from an export made safe for a terminal (vault/printable.py)
    "printable", "UNSAFE_BUT_LINES",
    # snapshots over time, and whose export each one is
    "snapshot_day", "dated_day", "latest_snapshot", "parse_day", "missing_months", "owner_of",
    "members_of", "member_view", "MemberView",
    # what an export holds
    "Export", "EXPORT_TABLES", "Connection", "Conversation", "Endorsement", "Invitation",
    "Message", "Recommendation", "participants", "summary_document", "summary_from_document",
    "ExportDiff", "diff_exports", "diff_document", "DIFF_FILES", "contacts_csv", "vcards",
    "web_link", "exportable", "contacts_left_out", "DownloadWatcher", "Seen", "read_messages",
    "MessageColumns", "MessageList", "MessageTable", "LazySequence",
}  # fmt: skip


def test_import_contracts_hold() -> None:
    """Layers (front ends > Vault > operations > repository > backend), pure code off
    storage, and no import of a top-level ``vault`` or ``cli``: see pyproject.toml."""
    checked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 broken" in checked.stdout


def lkvault_imports(folder: Path) -> Iterator[tuple[str, str]]:
    """(file, imported module) for every absolute import of lkvault in ``folder``'s code,
    at any depth of the file (imports inside functions count too)."""
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                if module == "lkvault" or module.startswith("lkvault."):
                    yield path.relative_to(REPO_ROOT).as_posix(), module


def test_front_ends_use_only_the_public_api() -> None:
    reaching_in = [
        f"{where} imports {module}"
        for where, module in lkvault_imports(REPO_ROOT / "cli")
        if module != "lkvault.vault" and not module.startswith("lkvault.cli")
    ]
    assert reaching_in == []


def test_the_public_api_is_pinned() -> None:
    assert set(lkvault.vault.__all__) == PUBLIC_API
    assert len(lkvault.vault.__all__) == len(PUBLIC_API)  # no name listed twice
    missing = [name for name in PUBLIC_API if not hasattr(lkvault.vault, name)]
    assert missing == []
