import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from annotation.models import Category, Entry, EntryStatus, Team

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Team {n}")


def category(slug: str) -> Category:
    """The seeded categories come from the data migration; tests use them as they are."""
    return Category.objects.get(slug=slug)


def submitted(author, **kwargs) -> Entry:
    """An entry waiting for review."""
    return EntryFactory(author=author, status=EntryStatus.SUBMITTED, **kwargs)


def handed_to(entry: Entry, reviewer) -> Entry:
    """`entry` as the review queue hands it to `reviewer` (services.review_next does this): they
    hold it, so they may open and review it (annotation.selectors.entries_visible_to)."""
    entry.leased_to = reviewer
    entry.lease_expires_at = timezone.now() + datetime.timedelta(minutes=10)
    entry.save(update_fields=["leased_to", "lease_expires_at"])
    return entry


class EntryFactory(factory.django.DjangoModelFactory):
    """An entry put straight into a state, for tests about what happens next (not how it got there)."""

    class Meta:
        model = Entry

    author = factory.SubFactory(UserFactory)
    category = factory.LazyFunction(lambda: category("open_qa"))
    status = EntryStatus.DRAFT
    # Different text for every entry, so that no two factory entries look like duplicates.
    instruction = factory.Faker("sentence", nb_words=10)
    response = factory.Faker("paragraph", nb_sentences=4)
    submitted_at = factory.LazyAttribute(
        lambda e: None if e.status == EntryStatus.DRAFT else timezone.now()
    )


def approve(entry, reviewer, **kwargs):
    """`reviewer` approves `entry` (rating 4) through the review service."""
    from annotation import services

    return services.review_record(
        entry=entry, reviewer=reviewer, verdict="approve", rating=4, **kwargs
    )


def reject(entry, reviewer, reasons=("factual_error",), **kwargs):
    """`reviewer` rejects `entry` (rating 2, a factual error unless told) through the service."""
    from annotation import services

    return services.review_record(
        entry=entry, reviewer=reviewer, verdict="reject", rating=2, reasons=list(reasons), **kwargs
    )


def accepted_entry(author, **kwargs) -> Entry:
    """An accepted entry with the decision that accepted it (two approvals in round 1)."""
    from annotation.models import Decision

    entry = EntryFactory(author=author, status=EntryStatus.ACCEPTED, **kwargs)
    Decision.objects.create(entry=entry, round=1, outcome="accepted", approvals=2)
    return entry


def snapshot_built(user=None, rescan=False, **options):
    """A snapshot asked for with these options and built in this process; it must come out ready."""
    from exports import services
    from exports.models import SnapshotStatus

    snapshot, _ = services.snapshot_request(user=user, options=options, start=False)
    built = services.snapshot_build(snapshot_id=snapshot.pk, rescan=rescan)
    assert built.status == SnapshotStatus.READY, built.error
    return built


def bucket_keys(entry) -> set[int]:
    """The keys the duplicate index's bucket rows hold for this entry."""
    from quality.models import Bucket

    return set(Bucket.objects.filter(fingerprint_id=entry.pk).values_list("key", flat=True))


def stored_keys(entry) -> set[int] | None:
    """The keys the entry's fingerprint row says its buckets hold (Fingerprint.keys), or None
    when the row has none."""
    from quality import dedupe
    from quality.models import Fingerprint

    keys = Fingerprint.objects.get(entry=entry).keys
    return None if keys is None else dedupe.keys_unpacked(bytes(keys))
