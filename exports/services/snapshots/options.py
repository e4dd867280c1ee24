"""What a snapshot is built with: the one home of the options' defaults, limits and parsing.

The page, the API, the command and the nightly job pass on only what someone chose and leave the
rest to the defaults here, and the selectors ask this type which snapshots hold the whole data
set. A default written in each of them would, sooner or later, make "latest" skip the snapshot a
trainer expects.
"""

from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar

from django.core.exceptions import ValidationError

from annotation.models import Category

MAX_MIN_APPROVALS = 20
MAX_VALIDATION_PERCENT = 50
_BOOLEANS = {"true": True, "on": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class SnapshotOptions:
    categories: list[str] = field(default_factory=list)  # empty: every category
    min_approvals: int = 0
    include_imported: bool = True
    validation_percent: float = 0.0  # 0: no split

    # The options that decide the records (data.jsonl); the validation split only divides them.
    FILTERS: ClassVar[tuple[str, ...]] = ("categories", "min_approvals", "include_imported")

    @classmethod
    def names(cls) -> list[str]:
        return [option.name for option in fields(cls)]

    @classmethod
    def parse(cls, data: dict | None) -> "SnapshotOptions":
        """Options from a form, the API or the command line; ValidationError names each bad one.
        An option left out (or blank) takes its default."""
        data = data or {}
        default = cls()
        errors: dict[str, str] = {}
        known = set(Category.objects.values_list("slug", flat=True))
        categories = data.get("categories") or default.categories
        if isinstance(categories, str):
            categories = [c for c in categories.replace(",", " ").split() if c]
        if not isinstance(categories, list | tuple) or not all(
            isinstance(c, str) for c in categories
        ):
            errors["categories"] = "Give a list of category slugs."
            categories = []
        unknown = sorted(set(categories) - known)
        if unknown:
            errors["categories"] = f"Unknown categories: {', '.join(unknown)}."
        min_approvals = _number(data.get("min_approvals"), int, default.min_approvals)
        if min_approvals is None or not 0 <= min_approvals <= MAX_MIN_APPROVALS:
            errors["min_approvals"] = f"A whole number from 0 to {MAX_MIN_APPROVALS}."
        include_imported = data.get("include_imported", default.include_imported)
        if isinstance(include_imported, str):
            include_imported = _BOOLEANS.get(include_imported.strip().lower(), include_imported)
        if not isinstance(include_imported, bool):
            errors["include_imported"] = "true or false."
        percent = _number(data.get("validation_percent"), float, default.validation_percent)
        if percent is None or not 0 <= percent <= MAX_VALIDATION_PERCENT:
            errors["validation_percent"] = f"A percentage from 0 to {MAX_VALIDATION_PERCENT}."
        if errors:
            raise ValidationError(errors)
        return cls(
            categories=sorted(set(categories)),
            min_approvals=min_approvals,
            include_imported=include_imported,
            validation_percent=round(percent, 2),
        )

    def as_dict(self) -> dict:
        """As a snapshot's row stores them (Snapshot.options)."""
        return asdict(self)

    @property
    def filters(self) -> dict:
        return self.filters_of(self.as_dict())

    @classmethod
    def filters_of(cls, stored: dict) -> dict:
        """The filters of a snapshot's stored options, as stored: a row that lacks one matches no
        options (it is not taken for the whole data set, nor for a parent)."""
        return {name: stored.get(name) for name in cls.FILTERS}

    @classmethod
    def is_whole_data_set(cls, stored: dict) -> bool:
        """Whether a snapshot's stored options hold every exportable entry (any split)."""
        return cls.filters_of(stored) == cls().filters


def _number(value, kind, default):
    if isinstance(value, bool):
        return None
    if value in (None, ""):
        return kind(default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    if kind is int and isinstance(value, float) and number != value:
        return None
    return number
