from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from annotation.models import (
    AgreementAcceptance,
    Category,
    ContributorAgreement,
    Entry,
    EntryStatus,
    Revision,
)


def agreement_current() -> ContributorAgreement | None:
    """The agreement in force: the newest one already published."""
    return (
        ContributorAgreement.objects.filter(published_at__lte=timezone.now())
        .order_by("-published_at")
        .first()
    )


@dataclass(frozen=True)
class AgreementStatus:
    current: ContributorAgreement | None
    acceptance: AgreementAcceptance | None

    @property
    def accepted(self) -> bool:
        return self.acceptance is not None


def agreement_status(*, user: AbstractBaseUser) -> AgreementStatus:
    current = agreement_current()
    acceptance = None
    if current is not None and user.is_authenticated:
        acceptance = AgreementAcceptance.objects.filter(user=user, agreement=current).first()
    return AgreementStatus(current=current, acceptance=acceptance)


def category_list_with_progress() -> list[Category]:
    """Active categories with accepted/submitted counts, those furthest from their target first.

    Each category gets `accepted_count`, `submitted_count`, `remaining` (target minus accepted and
    in review, never below zero) and `progress_percent` (accepted share of the target).
    """
    categories = list(
        Category.objects.filter(is_active=True).annotate(
            accepted_count=Count("entries", filter=Q(entries__status=EntryStatus.ACCEPTED)),
            submitted_count=Count("entries", filter=Q(entries__status=EntryStatus.SUBMITTED)),
        )
    )
    for category in categories:
        target = category.target_count
        in_hand = category.accepted_count + category.submitted_count
        category.remaining = max(target - in_hand, 0)
        category.progress_percent = (
            min(100, round(100 * category.accepted_count / target)) if target else 100
        )
        category.need_ratio = category.remaining / target if target else 0.0
    categories.sort(key=lambda c: (-c.need_ratio, c.position, c.slug))
    return categories


def category_get_active(*, slug: str) -> Category:
    return Category.objects.get(slug=slug, is_active=True)


def entry_list_for_author(*, author: AbstractBaseUser, status: str | None = None) -> QuerySet:
    entries = Entry.objects.filter(author=author).select_related("category")
    if status:
        entries = entries.filter(status=status)
    return entries.order_by("-updated_at", "-id")


def entry_get_for_author(*, author: AbstractBaseUser, entry_id: int) -> Entry:
    """The author's own entry; anyone else's is reported as missing (Entry.DoesNotExist)."""
    return Entry.objects.select_related("category").get(pk=entry_id, author=author)


def entry_counts_by_status(*, author: AbstractBaseUser) -> dict[str, int]:
    rows = Entry.objects.filter(author=author).values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in EntryStatus.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def revision_list_for_entry(*, entry: Entry) -> QuerySet:
    return Revision.objects.filter(entry=entry).select_related("author").order_by("number")
