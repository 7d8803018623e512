"""Bulk rows for the import sync: fresh primary keys, and prepared rows written with the fastest path the
database driver offers: ``COPY ... FROM STDIN`` on PostgreSQL (psycopg 3, Label Studio's driver), one
``executemany`` INSERT elsewhere. Either runs inside the caller's transaction, so a batch still commits
or rolls back whole."""
from django.db import connection

BULK = 1000  # rows per INSERT


def annotation_fields(annotations):
    for a in annotations:
        fields = {"result": a["result"], "completed_by_id": a["completed_by_id"], "was_cancelled": a["was_cancelled"],
                  "ground_truth": a["ground_truth"], "lead_time": a["lead_time"]}
        if a["unique_id"]:
            fields["unique_id"] = a["unique_id"]
        yield fields


def next_ids(cursor, model, count):
    """``count`` fresh primary keys of ``model``'s table, ascending, never used before."""
    table = model._meta.db_table
    if not count:
        return []
    if connection.vendor == "postgresql":
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return sorted(row[0] for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        # The batch's transaction holds SQLite's write lock (no other writer until it commits), and an
        # AUTOINCREMENT table never reuses an id: start past both its largest id and its sequence.
        cursor.execute(f"SELECT max(id) FROM {connection.ops.quote_name(table)}")
        last = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        last = max(last, row[0] if row else 0)
        return list(range(last + 1, last + 1 + count))
    raise NotImplementedError(f"ApertureDB import sync supports SQLite and PostgreSQL, not {connection.vendor}")


class Rows:
    """Rows for ``model``'s table, written by ``COPY`` (PostgreSQL) or an ``executemany`` INSERT: ``varying`` fields come with each row (values
    ready for the database: ids, numbers, JSON text), ``fixed`` ones are given once, and every other
    field takes its model default (or the batch's time), prepared once: the rows ``bulk_create`` writes."""

    def __init__(self, model, varying, **fixed):
        self.model, self.varying, self.fixed = model, varying, fixed

    def insert(self, cursor, rows, now):
        if not rows:
            return
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        constants = []
        for name, f in fields.items():
            if name in self.varying or name == "id":  # without an id in ``varying``, the table numbers the rows
                continue
            if name in self.fixed:
                value = self.fixed[name]
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:
                value = f.get_default()
            constants.append((f.column, value if name in self.fixed and f.is_relation
                              else f.get_db_prep_save(value, connection)))
        columns = [fields[name].column for name in self.varying] + [c for c, _ in constants]
        tail = tuple(v for _, v in constants)
        quote = connection.ops.quote_name
        table = f"{quote(self.model._meta.db_table)} ({', '.join(map(quote, columns))})"
        if connection.vendor == "postgresql":
            # COPY's text format parses every value as its column's type: JSON text into jsonb as an
            # INSERT would, ids and numbers as they are; no statement per row to plan or execute.
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row + tail)
            return
        cursor.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(columns))})",
                           [row + tail for row in rows])
