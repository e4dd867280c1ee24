from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from leaderboard import services
from leaderboard.models import Contest

_WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ContestForm(forms.ModelForm):
    """The contest form of the contests page and the Django admin: the service's window rules
    are checked here too, so both show them beside the form."""

    def clean(self):
        cleaned = super().clean()
        window = ("starts_at", "ends_at", "grace_ends_at")
        if all(cleaned.get(name) for name in window):
            candidate = Contest(pk=self.instance.pk, multipliers=cleaned.get("multipliers") or {})
            for name in window:
                setattr(candidate, name, cleaned[name])
            try:
                services.contest_validate(contest=candidate)
            except ValidationError as exc:
                for field, problems in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, problems)
        return cleaned

    class Meta:
        model = Contest
        fields = [*services.CONTEST_FIELDS, "focus_categories"]
        widgets = {
            "starts_at": _WHEN,
            "ends_at": _WHEN,
            "grace_ends_at": _WHEN,
            "name": forms.TextInput(attrs={"dir": "auto"}),
            "prize": forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
            "multipliers": forms.Textarea(attrs={"rows": 2}),
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
            self.fields[name].help_text = f"Empty: the default ({value})."
