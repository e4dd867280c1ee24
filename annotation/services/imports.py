import unicodedata

from django.db import transaction
from django.utils import timezone

from annotation import sources
from annotation.models import Category, Entry, EntryStatus, Source


def source_ensure(*, name: str, license: str, url: str = "") -> Source:
    """The named source, made on first import. A source keeps the licence it was imported under.

    Its name and URL are quoted in the dataset card, so they meet annotation.sources' rules (a
    name of one line of ordinary characters; a URL that is an http(s) web address, stored
    normalised); ValueError says what is wrong otherwise.
    """
    name = unicodedata.normalize("NFC", name)
    problem = sources.source_name_error(name)
    if problem:
        raise ValueError(f"Source name {name[:80]!r}: {problem}")
    if url.strip():
        try:
            url = sources.url_normalize(url)
        except sources.SourceURLError as exc:
            raise ValueError(f"Source URL {url[:200]!r}: {exc}") from None
    else:
        url = ""
    source, created = Source.objects.get_or_create(
        name=name, defaults={"license": license, "url": url}
    )
    if not created and source.license != license:
        raise ValueError(
            f"{name} was imported under {source.license}; import it under that licence "
            f"or under another source name."
        )
    return source


def entries_import(*, source: Source, records: list[dict]) -> list[Entry]:
    """Add already-validated records of a public corpus as accepted entries of `source`.

    Each record has instruction, context, response, a Category and its import_key; records whose
    key this source already has are skipped, so importing a file twice adds nothing.
    """
    keys = [record["import_key"] for record in records]
    with transaction.atomic():
        known = set(
            Entry.objects.filter(source=source, import_key__in=keys).values_list(
                "import_key", flat=True
            )
        )
        now = timezone.now()
        fresh = [record for record in records if record["import_key"] not in known]
        return Entry.objects.bulk_create(
            [
                Entry(
                    source=source,
                    import_key=record["import_key"],
                    category=record["category"],
                    status=EntryStatus.ACCEPTED,
                    instruction=record["instruction"],
                    context=record["context"],
                    response=record["response"],
                    submitted_at=now,
                    decided_at=now,
                )
                for record in fresh
            ]
        )


def categories_by_slug() -> dict[str, Category]:
    return {category.slug: category for category in Category.objects.filter(is_active=True)}
