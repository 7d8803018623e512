"""Leases on outbox rows: the two short database transactions around each export batch.

Apart from ``exporter`` (what to write to ApertureDB) because the lease is what lets several workers
drain one outbox with no database lock held while ApertureDB is called: a claim takes rows under a
token, a release records each row's result and gives the rows back.
"""
import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Subquery, Value, When
from django.utils import timezone

from ls_aperturedb import conf
from ls_aperturedb.models import ApertureDBExportStorageLink as Link

State = Link.State
OPEN = (State.PENDING, State.FAILED, State.DELETING)


def claim(queryset, limit):
    """Lease up to ``limit`` open rows of ``queryset``; return (token, ids).

    One UPDATE statement: on PostgreSQL a row another claimant took meanwhile fails the re-checked
    condition; on SQLite a write-first statement never deadlocks upgrading a read lock.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    free = Q(claim="") | Q(claimed_until__lt=now)
    candidates = queryset.filter(free, state__in=OPEN).order_by("id").values("id")[:limit]
    claimed = Link.objects.filter(free, id__in=Subquery(candidates)).update(
        claim=token, claimed_until=now + timedelta(seconds=conf.get_int("EXPORT_LEASE_SECONDS")))
    return token, list(Link.objects.filter(claim=token).values_list("id", flat=True)) if claimed else []


def release(token, results):
    """Record what happened to each claimed row and give the rows back (a few statements per batch)."""
    now = timezone.now()
    mine = Link.objects.filter(claim=token)
    by_kind = {}
    for link_id, (kind, version, error) in results.items():
        by_kind.setdefault(kind, []).append((link_id, version, error))
    # A save that landed meanwhile (newer wanted_version) keeps the row pending; a delete wins.
    # Superseded: ApertureDB holds this version or a newer one, which is what "exported" records.
    settled = Case(When(state=State.DELETING, then=Value(State.DELETING)),
                   When(wanted_version__gt=F("exported_version"), then=Value(State.PENDING)))
    with transaction.atomic():
        mine.filter(id__in=[i for i, _, _ in by_kind.get("deleted", [])]).delete()
        exported = by_kind.get("exported", []) + by_kind.get("superseded", [])
        if exported:
            rows = mine.filter(id__in=[i for i, _, _ in exported])
            rows.update(exported_version=Case(*(When(id=i, then=Value(v)) for i, v, _ in exported),
                                              output_field=DateTimeField()), attempts=0, last_error="")
            rows.update(state=Case(*settled.cases, default=Value(State.EXPORTED)))
        for link_id, version, error in by_kind.get("failed", []):
            rows = mine.filter(id=link_id)
            rows.update(attempts=F("attempts") + 1, last_error=error[:4000])
            rows.update(state=Case(When(state=State.DELETING, then=Value(State.DELETING)),
                                   When(wanted_version__gt=Value(version), then=Value(State.PENDING)),
                                   default=Value(State.FAILED)) if version else State.FAILED)
        unavailable = by_kind.get("unavailable", [])
        if unavailable:
            mine.filter(id__in=[i for i, _, _ in unavailable]).update(
                attempts=F("attempts") + 1, last_error=unavailable[0][2][:4000])
        mine.update(claim="", claimed_until=None, updated_at=now)
