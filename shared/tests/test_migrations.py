"""The pure parts of migrations: checksums, the no-transaction marker, and what counts as
changed. Applying them over real PostgreSQL: tests/integration/test_migrations.py."""

from __future__ import annotations

import hashlib

from tenderwire_shared.db import NO_TRANSACTION, Migration, changed_migrations, migrations_in


def test_a_migration_runs_in_a_transaction_unless_its_first_line_says_otherwise() -> None:
    assert Migration("p/001.sql", "CREATE TABLE t (id int);").in_transaction
    concurrent = "CREATE INDEX CONCURRENTLY i ON t (id);"
    assert not Migration("p/002.sql", f"\n{NO_TRANSACTION}\n{concurrent}").in_transaction
    # Only the first line counts: a marker further down is an ordinary comment.
    assert Migration("p/003.sql", f"SELECT 1;\n{NO_TRANSACTION}\n").in_transaction


def test_the_checksum_is_the_sha256_of_the_files_text() -> None:
    sql = "CREATE TABLE gowns (id int);\n"
    assert Migration("p/001.sql", sql).checksum == hashlib.sha256(sql.encode()).hexdigest()


def test_only_an_applied_file_that_reads_differently_counts_as_changed() -> None:
    same, edited, new = (Migration(f"p/00{n}.sql", f"SELECT {n};") for n in (1, 2, 3))
    applied: dict[str, str | None] = {
        same.name: same.checksum,
        edited.name: "0" * 64,
        "p/000_unchecked.sql": None,
    }
    (changed,) = changed_migrations(applied, [same, edited, new])
    assert changed.startswith("p/002.sql")
    assert edited.checksum in changed


def test_the_shared_messaging_tables_come_first_then_each_package_in_file_order() -> None:
    names = [m.name for m in migrations_in("tenderwire_notices.migrations")]
    shared = [n for n in names if n.startswith("tenderwire_shared.migrations/")]
    assert names[: len(shared)] == shared
    assert names == [*shared, *sorted(names[len(shared) :])]
    assert all(m.in_transaction for m in migrations_in("tenderwire_notices.migrations"))
