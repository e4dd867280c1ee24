import datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from annotation.models import Category
from leaderboard import services
from leaderboard.models import Contest

_WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

MULTIPLIER_PREFIX = "multiplier_"
# A year: enough for any review period, and far from datetime's limits.
MAX_GRACE_HOURS = 24 * 365
# Where the form fields stand for the model fields they replace (the service's error keys).
_SERVICE_FIELDS = {"grace_ends_at": "grace_hours", "multipliers": None}


class ContestForm(forms.ModelForm):
    """The contest form of the contests page and the Django admin: the service's window rules
    are checked here too, so both show them beside the form.

    The review grace period is asked in hours (grace_ends_at = ends_at + hours), pre-filled
    from FLOCK_CONTEST_GRACE_HOURS; the multipliers are one number per category, made by
    contest_form() from the categories of the day.
    """

    grace_hours = forms.DecimalField(
        label="Review grace period (hours)",
        min_value=0,
        max_value=MAX_GRACE_HOURS,
        widget=forms.NumberInput(attrs={"step": "1"}),
        help_text="Reviews after the end still count this long; then the standings are frozen "
        "and the contest can be finalised.",
    )

    categories: tuple[Category, ...] = ()  # set by contest_form()

    class Meta:
        model = Contest
        fields = [
            *(name for name in services.CONTEST_FIELDS if name not in _SERVICE_FIELDS),
            "focus_categories",
        ]
        widgets = {
            "starts_at": _WHEN,
            "ends_at": _WHEN,
            "name": forms.TextInput(attrs={"dir": "auto"}),
            "prize": forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
            "focus_categories": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = {
            "accepted_points": settings.FLOCK_POINTS_ACCEPTED,
            "review_points": settings.FLOCK_POINTS_REVIEW,
            "short_category_bonus": settings.FLOCK_POINTS_SHORT_CATEGORY_BONUS,
        }
        for name, value in defaults.items():
            if name in self.fields:  # the admin shows a final contest without its fields
                self.fields[name].help_text = f"Empty: the default ({value})."
        for name, value in self._initial_values().items():
            self.initial.setdefault(name, value)

    def _initial_values(self) -> dict:
        contest = self.instance
        if contest.pk is None:
            starts, ends = services.contest_suggested_window()
            return {
                "starts_at": starts,
                "ends_at": ends,
                "grace_hours": settings.FLOCK_CONTEST_GRACE_HOURS,
            }
        values = {"grace_hours": _hours(contest.grace_ends_at - contest.ends_at)}
        for category in self.categories:
            values[_multiplier_name(category)] = (contest.multipliers or {}).get(category.slug)
        return values

    @classmethod
    def layout(cls) -> tuple[list[str], list[str]]:
        """The field names in the order shown: the contest's own (the grace period after the
        window), then the multipliers, in the categories' order."""
        multipliers = [_multiplier_name(category) for category in cls.categories]
        main = [name for name in cls.base_fields if name not in multipliers]
        main.insert(main.index("ends_at") + 1, main.pop(main.index("grace_hours")))
        return main, multipliers

    @property
    def main_fields(self) -> list:
        return [field for field in self if not field.name.startswith(MULTIPLIER_PREFIX)]

    @property
    def multiplier_fields(self) -> list:
        return [field for field in self if field.name.startswith(MULTIPLIER_PREFIX)]

    def clean(self):
        cleaned = super().clean()
        cleaned["multipliers"] = self._multipliers(cleaned)
        if cleaned.get("ends_at") and cleaned.get("grace_hours") is not None:
            try:
                cleaned["grace_ends_at"] = self._grace_ends_at(cleaned)
            except OverflowError:  # an end near the year 9999: a field error, not a 500
                self.add_error("grace_hours", "The grace period would end after the year 9999.")
        window = ("starts_at", "ends_at", "grace_ends_at")
        if all(cleaned.get(name) for name in window):
            candidate = Contest(pk=self.instance.pk, multipliers=cleaned["multipliers"])
            for name in window:
                setattr(candidate, name, cleaned[name])
            try:
                services.contest_validate(contest=candidate)
            except ValidationError as exc:
                self.add_service_errors(exc)
        return cleaned

    def _multipliers(self, cleaned) -> dict:
        """The non-blank fields, as JSON numbers; multipliers of categories without a field
        (made inactive since) are kept as they were."""
        shown = {category.slug for category in self.categories}
        kept = {
            slug: value
            for slug, value in (self.instance.multipliers or {}).items()
            if slug not in shown
        }
        for category in self.categories:
            value = cleaned.get(_multiplier_name(category))
            if value is not None:
                kept[category.slug] = int(value) if value == value.to_integral() else float(value)
        return kept

    def _grace_ends_at(self, cleaned) -> datetime.datetime:
        """ends_at + the hours; a period left as it was keeps its exact length (the field
        shows it rounded to a hundredth of an hour)."""
        if self.instance.pk and "grace_hours" not in self.changed_data:
            return cleaned["ends_at"] + (self.instance.grace_ends_at - self.instance.ends_at)
        return cleaned["ends_at"] + datetime.timedelta(hours=float(cleaned["grace_hours"]))

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's errors beside the fields that stand for them (or above the form)."""
        for field, problems in exc.message_dict.items():
            field = _SERVICE_FIELDS.get(field, field)
            self.add_error(field if field in self.fields else None, problems)

    def contest_values(self) -> dict:
        """The cleaned form as contest_save's values."""
        return {name: self.cleaned_data[name] for name in services.CONTEST_FIELDS}

    def save(self, commit=True):
        # The Django admin saves through the form: the fields a ModelForm does not map itself.
        self.instance.grace_ends_at = self.cleaned_data["grace_ends_at"]
        self.instance.multipliers = self.cleaned_data["multipliers"]
        return super().save(commit)


def _hours(duration: datetime.timedelta) -> Decimal:
    hours = Decimal(duration.total_seconds()) / 3600
    return hours.quantize(Decimal("0.01")).normalize()


def _multiplier_name(category: Category) -> str:
    return f"{MULTIPLIER_PREFIX}{category.slug}"


def _multiplier_field(category: Category) -> forms.DecimalField:
    own = f"{category.points_multiplier.normalize():f}"
    return forms.DecimalField(
        label=category.name,
        required=False,
        min_value=0,
        max_value=services.MAX_MULTIPLIER,
        widget=forms.NumberInput(attrs={"step": "0.25", "placeholder": own}),
        help_text=f"Empty: {category.name}'s own multiplier ({own}).",
    )


def contest_form(base: type[ContestForm] = ContestForm) -> type[ContestForm]:
    """The contest form with one multiplier field per active category. Categories are rows,
    so the form class is made per request (one query), with declared fields, so that the
    Django admin lays them out too."""
    categories = tuple(Category.objects.filter(is_active=True).order_by("position", "slug"))
    fields = {_multiplier_name(category): _multiplier_field(category) for category in categories}
    form = type(base.__name__, (base,), {**fields, "categories": categories})
    main, multipliers = form.layout()
    form.base_fields = {name: form.base_fields[name] for name in [*main, *multipliers]}
    return form
