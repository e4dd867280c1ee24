from django import forms

from leaderboard.models import Contest

_WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ContestForm(forms.ModelForm):
    class Meta:
        model = Contest
        fields = [
            "name",
            "starts_at",
            "ends_at",
            "grace_ends_at",
            "prize",
            "accepted_points",
            "review_points",
            "short_category_bonus",
            "multipliers",
            "focus_categories",
            "focus_bonus",
            "winner_count",
        ]
        widgets = {
            "starts_at": _WHEN,
            "ends_at": _WHEN,
            "grace_ends_at": _WHEN,
            "prize": forms.Textarea(attrs={"rows": 2}),
            "focus_categories": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "accepted_points": "Empty: the default (10).",
            "review_points": "Empty: the default (2).",
            "short_category_bonus": "Empty: the default (5).",
        }
