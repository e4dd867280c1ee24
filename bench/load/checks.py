"""Nothing lost under load: what the virtual users were told was saved is what the database holds.

- every draft holds its last autosave the server answered 200 (or a later one it was sent by a
  user stopped mid-request), as the server cleans text up, and every entry whose submit was
  answered is no longer a draft;
- every review a user saw recorded is in the database, and no entry was reviewed twice by one
  reviewer;
- the cached boards in Redis equal the ledger (leaderboard.services.boards_check).
"""

from django.db.models import Count

from annotation.models import Entry, EntryStatus, Review
from annotation.text import normalize_fields
from leaderboard.services import boards_check

TEXT = ("instruction", "context", "response")


def run(outcome: dict) -> dict:
    """{"lines": what to print, "failed": whether anything was lost}."""
    lines, failed = ["\nnothing lost:"], False
    confirmed = {int(pk): saved for pk, saved in outcome["confirmed"].items()}
    stored = {
        row["pk"]: row
        for row in Entry.objects.filter(pk__in=confirmed).values("pk", "status", *TEXT)
    }
    lost = []
    for pk, saved in confirmed.items():
        row = stored.get(pk)
        held = tuple(row[name] or "" for name in TEXT) if row else None
        allowed = [_text(saved["text"]), *(_text(text) for text in saved["pending"])]
        if held not in allowed:
            lost.append(pk)
    failed |= bool(lost)
    lines.append(
        f"  drafts: {len(confirmed):,} autosaved, {len(lost):,} not holding their last "
        f"confirmed save{': ' + ', '.join(map(str, lost[:10])) if lost else ''}"
    )
    submitted = {int(pk) for pk in outcome["submitted"]}
    still_drafts = [
        pk
        for pk in submitted
        if stored.get(pk) is None or stored[pk]["status"] == EntryStatus.DRAFT
    ]
    failed |= bool(still_drafts)
    lines.append(f"  submitted: {len(submitted):,}, {len(still_drafts):,} still drafts")

    recorded = {(entry, username) for entry, username in outcome["reviewed"]}
    in_db = set(
        Review.objects.filter(entry_id__in={entry for entry, _ in recorded}).values_list(
            "entry_id", "reviewer__username"
        )
    )
    missing = recorded - in_db
    twice = Review.objects.values("entry_id", "reviewer_id").annotate(n=Count("pk")).filter(n__gt=1)
    failed |= bool(missing) or twice.exists()
    lines.append(
        f"  reviews: {len(recorded):,} recorded, {len(missing):,} missing, "
        f"{twice.count():,} entries reviewed twice by one reviewer"
    )
    drifts = boards_check(repair=False)
    failed |= bool(drifts)
    lines.append(
        "  boards: equal to the ledger"
        if not drifts
        else "  boards: " + "; ".join(f"{d.board} {d.total} rows drifted" for d in drifts)
    )
    return {"lines": lines, "failed": failed}


def _text(values: dict) -> tuple[str, ...]:
    """The text as the server stores what was sent (its one clean-up rule, normalize_fields:
    a passage loses its citation markers, for one)."""
    cleaned = normalize_fields({name: values.get(name) or "" for name in TEXT})
    return tuple(cleaned[name] for name in TEXT)
