from django import forms
from django.contrib.auth.forms import AuthenticationForm

from annotation.models import Team
from annotation.text import ENTRY_FIELDS, TEXT_FIELDS, Limits


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": "This account is not active yet: open the confirmation link we e-mailed you.",
    }


class SignUpForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Use letters, digits and @ . + - _ only."},
    )
    email = forms.EmailField(label="Company e-mail")
    display_name = forms.CharField(max_length=100, required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return cleaned


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=100, required=False, help_text="Shown on leaderboards; your username if empty."
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    show_on_leaderboard = forms.BooleanField(
        required=False, label="Show my name on leaderboards (otherwise 'anonymous')"
    )


class EntryForm(forms.Form):
    """The writing form. It only carries text; the rules live in annotation.text and the services."""

    entry = forms.IntegerField(required=False, widget=forms.HiddenInput)
    category = forms.SlugField(widget=forms.HiddenInput)
    instruction = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    context = forms.CharField(
        required=False, strip=False, widget=forms.Textarea, label="Reference passage"
    )
    source_url = forms.CharField(required=False, label="Source URL of the passage")
    response = forms.CharField(required=False, strip=False, widget=forms.Textarea)

    def __init__(self, *args, category, **kwargs):
        super().__init__(*args, **kwargs)
        self.category = category
        limits = Limits.from_settings()
        rows = {"instruction": 4, "context": 10, "response": 8}
        for name in TEXT_FIELDS:
            self.fields[name].widget.attrs.update(
                {"data-max-chars": limits.for_field(name), "rows": rows[name], "spellcheck": "true"}
            )
        self.fields["source_url"].widget.attrs.update(
            {"placeholder": "https://en.wikipedia.org/wiki/…", "inputmode": "url"}
        )
        if not category.takes_context:
            del self.fields["context"]
            del self.fields["source_url"]

    def text_values(self) -> dict[str, str]:
        """What the writer typed, whether or not it is valid yet."""
        names = [name for name in ENTRY_FIELDS if name in self.fields]
        return {name: self.data.get(name, "") for name in names}
