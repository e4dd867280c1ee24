import datetime
from uuid import UUID

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from annotation import selectors
from annotation.models import (
    MAX_COMMENT_CHARS,
    MAX_DECISION_REASON_CHARS,
    MAX_URL_CHARS,
    ApiToken,
    Category,
    EntryStatus,
    FlagKind,
    FlagStatus,
    OverturnVerdict,
    Profile,
    RejectReason,
    Team,
    Verdict,
)
from annotation.services.flags import MAX_NOTE_CHARS
from annotation.services.moderation import BulkAction
from annotation.text import ENTRY_FIELDS, TEXT_FIELDS, Limits, normalize_text

MAX_ID = 2**63 - 1  # the largest id a database row can have (a 64-bit signed integer)


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": "This account is not active: open the confirmation link we e-mailed you, "
        "or ask an administrator.",
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            # The default backend treats an inactive account like a wrong password; with the
            # right password, say what is actually wrong.
            username, password = (
                self.cleaned_data.get("username"),
                self.cleaned_data.get("password"),
            )
            user = get_user_model()._default_manager.filter(username=username).first()
            if user is not None and not user.is_active and user.check_password(password or ""):
                raise ValidationError(self.error_messages["inactive"], code="inactive") from None
            raise


class SignUpForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Use letters, digits and @ . + - _ only."},
    )
    email = forms.EmailField(label="Company e-mail")
    display_name = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"dir": "auto"})
    )
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
        max_length=100,
        required=False,
        help_text="Shown on leaderboards; your username if empty.",
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    show_on_leaderboard = forms.BooleanField(
        required=False, label="Show my name on leaderboards (otherwise 'anonymous')"
    )
    email_notifications = forms.ChoiceField(
        label="E-mail me about my notifications",
        choices=Profile._meta.get_field("email_notifications").choices,
        initial=Profile._meta.get_field("email_notifications").default,
        help_text="When your entries are decided or fixed, or a contest you scored in is final.",
        required=False,  # left out (an older form): the choice stays as it was
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What the token is for, e.g. “nightly download”.",
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=[
            ("7", "in 7 days"),
            ("30", "in 30 days"),
            ("90", "in 90 days"),
            ("365", "in a year"),
            ("", "never"),
        ],
        coerce=int,
        empty_value=None,
        required=False,
        initial="90",
    )


class ServiceErrorsMixin:
    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's field errors beside their fields; those of fields this form lacks
        (a passage on a form without one, say) on top, instead of failing."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for name, problems in exc.message_dict.items():
            self.add_error(name if name in self.fields else None, problems)


class EntryForm(ServiceErrorsMixin, forms.Form):
    """The writing form. It only carries text; the rules live in annotation.text and the services."""

    entry = forms.IntegerField(required=False, widget=forms.HiddenInput)
    draft_key = forms.UUIDField(required=False, widget=forms.HiddenInput)
    category = forms.SlugField(widget=forms.HiddenInput)
    instruction = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    context = forms.CharField(
        required=False, strip=False, widget=forms.Textarea, label="Reference passage"
    )
    source_url = forms.CharField(required=False, label="Source URL of the passage")
    response = forms.CharField(required=False, strip=False, widget=forms.Textarea)

    def __init__(self, *args, category, show_context: bool = False, **kwargs):
        """`show_context` keeps the passage fields for a category that takes none, so that a
        draft holding a passage (written before an admin changed the policy) can be cleared."""
        super().__init__(*args, **kwargs)
        self.category = category
        limits = Limits.from_settings()
        rows = {"instruction": 4, "context": 10, "response": 8}
        for name in TEXT_FIELDS:
            self.fields[name].widget.attrs.update(
                {
                    "data-max-chars": limits.for_field(name),
                    "rows": rows[name],
                    "spellcheck": "true",
                    "dir": "auto",
                }
            )
        self.fields["source_url"].widget.attrs.update(
            {"placeholder": "https://en.wikipedia.org/wiki/…", "inputmode": "url"}
        )
        self.fields["source_url"].widget.attrs["maxlength"] = MAX_URL_CHARS
        if not (category.takes_context or show_context):
            del self.fields["context"]
            del self.fields["source_url"]

    def text_values(self) -> dict[str, str]:
        """What the writer typed, whether or not it is valid yet."""
        names = [name for name in ENTRY_FIELDS if name in self.fields]
        return {name: self.data.get(name, "") for name in names}

    def draft_key_value(self) -> UUID | None:
        try:
            return UUID(self.data.get("draft_key", ""))
        except ValueError:
            return None


class KeyedChoicesMixin:
    """A choice widget whose options each carry the key that picks them on the review page: the
    input gets data-key (static/flock/review_keys.js reads it) and the template shows
    `choice.data.key` beside the option. The one home of the review page's choice keys."""

    def __init__(self, *args, keys: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.keys = keys

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        option["key"] = self.keys.get(str(value), "")
        if option["key"]:
            option["attrs"]["data-key"] = option["key"]
        return option

    def _render(self, template_name, context, renderer=None):
        """An option's input (`choice.tag`) is written here, as Django's input.html writes it:
        the review page's 16 took 1.2 ms through the template engine, 0.5 ms written here."""
        if template_name != self.option_template_name:
            return super()._render(template_name, context, renderer)
        return option_html(context["widget"])


def option_html(widget: dict) -> SafeString:
    """Django's forms/widgets/input_option.html for one option's context, byte for byte."""
    attrs = format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in widget["attrs"].items()
            if value is not False
        ),
    )
    value = "" if widget["value"] is None else format_html(' value="{}"', widget["value"])
    tag = format_html(
        '<input type="{}" name="{}"{}{}>', widget["type"], widget["name"], value, attrs
    )
    if not widget.get("wrap_label"):
        return tag
    label_for = format_html(' for="{}"', widget["attrs"]["id"]) if widget["attrs"].get("id") else ""
    # input.html ends in a newline, which stays inside the label (the renderer strips the ends).
    return format_html("<label{}>{}\n {}</label>", label_for, tag, widget["label"])


class KeyedRadioSelect(KeyedChoicesMixin, forms.RadioSelect):
    pass


class KeyedCheckboxSelectMultiple(KeyedChoicesMixin, forms.CheckboxSelectMultiple):
    pass


# A letter per reason, mnemonic and clear of the verdict keys (a, r), skip (s) and the digits.
REASON_KEYS = {
    RejectReason.WRONG_CATEGORY: "w",
    RejectReason.FACTUAL_ERROR: "f",
    RejectReason.UNCLEAR_INSTRUCTION: "u",
    RejectReason.LOW_EFFORT: "l",
    RejectReason.CONTEXT_PROBLEM: "c",
    RejectReason.COPIED_OR_AI: "i",
    RejectReason.PERSONAL_DATA: "p",
    RejectReason.DUPLICATE: "d",
    RejectReason.OTHER: "o",
}


class ReviewForm(ServiceErrorsMixin, forms.Form):
    """A review, plus optional corrected text (a typo fix goes with an approval)."""

    seen_revision = forms.IntegerField(required=False, widget=forms.HiddenInput)
    verdict = forms.ChoiceField(
        choices=Verdict.choices,
        widget=KeyedRadioSelect(keys={Verdict.APPROVE: "a", Verdict.REJECT: "r"}),
    )
    rating = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=KeyedRadioSelect(keys={str(n): str(n) for n in range(1, 6)}),
        label="Quality (1 = poor, 5 = excellent)",
    )
    reasons = forms.MultipleChoiceField(
        choices=RejectReason.choices,
        required=False,
        widget=KeyedCheckboxSelectMultiple(keys=REASON_KEYS),
        label="Reasons (needed for a rejection)",
    )
    comment = forms.CharField(
        required=False,
        max_length=MAX_COMMENT_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        label="Comment for the author",
    )
    instruction = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    context = forms.CharField(
        required=False, strip=False, widget=forms.Textarea, label="Reference passage"
    )
    response = forms.CharField(required=False, strip=False, widget=forms.Textarea)

    def __init__(self, *args, entry, seen_text: dict[str, str], seen_revision: int, **kwargs):
        """`seen_text` is the text of revision `seen_revision`, the one the reviewer was shown;
        a fix is what they changed in it."""
        kwargs.setdefault("initial", {**seen_text, "seen_revision": seen_revision})
        super().__init__(*args, **kwargs)
        self.entry = entry
        self.seen_text = seen_text
        rows = {"instruction": 3, "context": 6, "response": 6}
        for name in TEXT_FIELDS:
            self.fields[name].widget.attrs.update({"rows": rows[name], "dir": "auto"})
        if not entry.context:
            del self.fields["context"]

    def fix_values(self) -> dict[str, str]:
        """The text fields the reviewer changed in what they were shown (after normalising)."""
        changed = {}
        for name in TEXT_FIELDS:
            if name not in self.cleaned_data or name not in self.data:
                continue
            typed = normalize_text(self.cleaned_data[name])
            if typed != self.seen_text.get(name, ""):
                changed[name] = self.cleaned_data[name]
        return changed


class DecideForm(forms.Form):
    verdict = forms.ChoiceField(
        choices=[(Verdict.APPROVE, "Accept"), (Verdict.REJECT, "Reject")], widget=forms.RadioSelect
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
        max_length=MAX_DECISION_REASON_CHARS,
    )


class FlagRaiseForm(forms.Form):
    """A moderator's flag on an entry (it blocks export until resolved)."""

    kind = forms.ChoiceField(choices=FlagKind.choices, initial=FlagKind.MODERATOR)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
        max_length=MAX_NOTE_CHARS,
        help_text="What is wrong: reviewers and the author read this.",
    )


class OverturnForm(ServiceErrorsMixin, forms.Form):
    """A moderator's overturn of a decided entry (services.entry_overturn); `decision` is the
    decision the page showed, so that one changed meanwhile is not overturned blind."""

    verdict = forms.ChoiceField(choices=OverturnVerdict.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
        max_length=MAX_DECISION_REASON_CHARS,
        help_text="Why: the author reads this.",
    )
    decision = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=1, max_value=MAX_ID
    )


class GoldMarkForm(forms.Form):
    """A moderator marks a decided entry as gold (services.gold_mark): the verdict a careful
    reviewer gives it and, for a known-bad entry, the reasons they should name."""

    expected = forms.ChoiceField(
        label="A careful reviewer would",
        choices=[(Verdict.APPROVE, "Approve it"), (Verdict.REJECT, "Reject it")],
        widget=forms.RadioSelect,
    )
    reasons = forms.MultipleChoiceField(
        choices=RejectReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="For a rejection, the reasons they should give (one of them is enough)",
    )


class EntryListFilterForm(forms.Form):
    """My entries' filters, read from the query string. A filter that does not parse (a category
    since deactivated, a made-up status) is left out rather than refused, so an old link still
    lists entries; the search is trimmed and cut to MAX_SEARCH_CHARS."""

    MAX_SEARCH_CHARS = 200

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "maxlength": MAX_SEARCH_CHARS,
                "placeholder": "Words in the text",
            }
        ),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="All categories",
    )
    status = forms.ChoiceField(choices=EntryStatus.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.category_list_active()

    def clean_q(self) -> str:
        return self.cleaned_data["q"][: self.MAX_SEARCH_CHARS].strip()

    def filters(self) -> dict:
        """The valid filters as the selectors take them: status, category, search."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "status": data.get("status") or None,
            "category": data.get("category"),
            "search": data.get("q", ""),
        }

    def query(self) -> dict[str, str]:
        """The valid filters as query-string parameters, for links that keep them."""
        filters = self.filters()
        category = filters["category"]
        values = {
            "q": filters["search"],
            "category": category.slug if category else "",
            "status": filters["status"] or "",
        }
        return {name: value for name, value in values.items() if value}


FIRST_DAY, LAST_DAY = datetime.date(2000, 1, 1), datetime.date(9998, 12, 31)
_DAY_BOUNDS = {"type": "date", "min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}


def _day_in_range(day: datetime.date) -> None:
    """A filter day far enough from the ends of the calendar that its midnight (and the next
    day's) exists in every time zone: 9999-12-31 or 0001-01-01 would not be a 500 but a field
    error."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(
            f"Give a day between the years {FIRST_DAY.year} and {LAST_DAY.year}.",
            code="out_of_range",
        )


class ModerationFilterForm(forms.Form):
    """The workbench's filters, read from the query string. Unlike My entries, a filter that does
    not parse is refused beside its field: a moderator about to act in bulk must never get a
    wider list than they asked for."""

    MAX_SEARCH_CHARS = 200

    q = forms.CharField(
        required=False,
        label="Text",
        max_length=MAX_SEARCH_CHARS,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words in the text"}),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="All categories",
    )
    status = forms.ChoiceField(
        choices=[
            ("", "Any status"),
            *[(v, label) for v, label in EntryStatus.choices if v != EntryStatus.DRAFT],
        ],
        required=False,
    )
    flag_kind = forms.ChoiceField(
        label="Flag kind", choices=[("", "Any or none"), *FlagKind.choices], required=False
    )
    flag_status = forms.ChoiceField(
        label="Flag status", choices=[("", "Any or none"), *FlagStatus.choices], required=False
    )
    author = forms.CharField(
        required=False,
        max_length=150,
        help_text="Username or display name",
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="All teams"
    )
    submitted_from = forms.DateField(
        label="Submitted from",
        required=False,
        widget=forms.DateInput(attrs=_DAY_BOUNDS),
        validators=[_day_in_range],
    )
    submitted_to = forms.DateField(
        label="Submitted to",
        required=False,
        widget=forms.DateInput(attrs=_DAY_BOUNDS),
        validators=[_day_in_range],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.order_by("position", "slug")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("submitted_from"), cleaned.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", "The last day comes before the first.")
        return cleaned

    def filters(self) -> dict:
        """The filters as selectors.moderation_entries takes them (call once the form is valid)."""
        data = self.cleaned_data
        return {
            "search": data["q"],
            "category": data["category"],
            "status": data["status"] or None,
            "flag_kind": data["flag_kind"] or None,
            "flag_status": data["flag_status"] or None,
            "author": data["author"],
            "team": data["team"],
            "submitted_from": data["submitted_from"],
            "submitted_to": data["submitted_to"],
        }

    def query(self) -> dict[str, str]:
        """The filters as given, for links that keep them (page links, the bulk form's target)."""
        return {name: self.data[name] for name in self.fields if self.data.get(name)}


class EntryIdsField(forms.Field):
    """The entries ticked in a list: their ids, each once, in the order given. A number no row
    can have (0, negative, past MAX_ID, which SQLite cannot even compare) is refused."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one entry.",
        "invalid": f"Entries are chosen by their numbers (from 1 to {MAX_ID}).",
    }

    def to_python(self, value) -> list[int]:
        try:
            return list(dict.fromkeys(int(v) for v in value or []))
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value: list[int]) -> None:
        super().validate(value)
        if any(not 1 <= pk <= MAX_ID for pk in value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")


class ModerationBulkForm(ServiceErrorsMixin, forms.Form):
    """One action on the entries ticked on the workbench. The rules (a reason needed, at most
    MAX_BULK_ENTRIES) are the service's (moderation_bulk); its errors come back beside these
    fields."""

    entries = EntryIdsField()
    action = forms.ChoiceField(
        label="With the selected entries", choices=[("", "Choose…"), *BulkAction.choices]
    )
    kind = forms.ChoiceField(
        label="Flag kind",
        choices=[("", "Any (to confirm or dismiss)"), *FlagKind.choices],
        required=False,
        help_text="The flag to raise, or the only kind to confirm or dismiss.",
    )
    reason = forms.CharField(
        label="Reason or note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
        help_text="The authors read it. Needed to accept, reject, reopen or raise a flag.",
    )

    def selected(self) -> set[int]:
        """The ids ticked, as sent (kept ticked when the page comes back with an error)."""
        if not self.is_bound:
            return set()
        try:
            return set(self.fields["entries"].to_python(self.data.getlist("entries")))
        except ValidationError:
            return set()
