from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation import selectors
from annotation.forms import MAX_ID
from annotation.models import (
    MAX_COMMENT_CHARS,
    MAX_DECISION_REASON_CHARS,
    ApiToken,
    Category,
    Decision,
    Entry,
    Erasure,
    Flag,
    FlagKind,
    GoldEntry,
    Overturn,
    OverturnVerdict,
    RejectReason,
    ReleaseRemoval,
    Review,
    Verdict,
)
from annotation.services.flags import MAX_NOTE_CHARS
from annotation.services.tokens import MAX_EXPIRY_DAYS, MAX_NAME_CHARS
from annotation.text import DRAFT_HARD_LIMIT
from config.schema import ErrorSerializer as ErrorSerializer  # the API's one error body


def _text_field(**kwargs):
    # No trimming here: the services normalise text, and drafts keep what the writer typed.
    return serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=DRAFT_HARD_LIMIT,
        **kwargs,
    )


class CategoryExampleSerializer(serializers.Serializer):
    instruction = serializers.CharField(source="example_instruction")
    context = serializers.CharField(source="example_context")
    response = serializers.CharField(source="example_response")


class CategorySerializer(serializers.ModelSerializer):
    example = CategoryExampleSerializer(source="*")
    accepted_count = serializers.IntegerField()
    submitted_count = serializers.IntegerField()
    remaining = serializers.IntegerField(help_text="Target minus accepted and in-review entries.")

    class Meta:
        model = Category
        fields = [
            "slug",
            "name",
            "summary",
            "guidelines",
            "example",
            "context_policy",
            "target_count",
            "points_multiplier",
            "accepted_count",
            "submitted_count",
            "remaining",
        ]


class DiffSegmentSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["same", "removed", "added"])
    text = serializers.CharField()


class FixDiffSerializer(serializers.Serializer):
    field = serializers.CharField()
    diff = DiffSegmentSerializer(many=True)


class AuthorReviewSerializer(serializers.Serializer):
    """A review as the entry's author sees it: no reviewer name."""

    round = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    rating = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=RejectReason.choices))
    comment = serializers.CharField()
    fix = FixDiffSerializer(many=True, source="fix_diffs", help_text="The reviewer's corrections.")
    created_at = serializers.DateTimeField()


class DecisionSerializer(serializers.ModelSerializer):
    by_moderator = serializers.BooleanField(read_only=True)
    overturned = serializers.SerializerMethodField(
        help_text="A moderator overturned this decision since: it no longer stands."
    )

    class Meta:
        model = Decision
        fields = [
            "id",
            "round",
            "outcome",
            "by_moderator",
            "reason",
            "approvals",
            "rejections",
            "created_at",
            "overturned",
        ]
        read_only_fields = fields

    def get_overturned(self, decision) -> bool:
        return getattr(decision, "overturned_by", None) is not None


class OverturnNoticeSerializer(serializers.ModelSerializer):
    """A moderator's overturn as the entry's author reads it: no moderator named."""

    class Meta:
        model = Overturn
        fields = ["verdict", "reason", "created_at"]
        read_only_fields = fields


def _source_url_field():
    # Plain text, not format "uri": a draft keeps whatever its writer typed; the URL is checked
    # on submit (annotation/text.py).
    return serializers.CharField(
        read_only=True, help_text="The reference passage's source, as its writer typed it."
    )


class EntrySerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source_url = _source_url_field()
    reviews = serializers.SerializerMethodField(
        help_text="Reviews of every decided round (empty while the entry is under review)."
    )
    decision = serializers.SerializerMethodField(
        help_text="The decision that stands: how the latest decided round ended, as a moderator's "
        "overturn left it; null while the entry is under review (reopened included)."
    )
    overturn = serializers.SerializerMethodField(
        help_text="A moderator's latest overturn of the entry (why it was reopened or its outcome "
        "changed), or null."
    )

    class Meta:
        model = Entry
        fields = [
            "id",
            "category",
            "instruction",
            "context",
            "response",
            "source_url",
            "status",
            "created_at",
            "updated_at",
            "submitted_at",
            "reviews",
            "decision",
            "overturn",
        ]
        read_only_fields = fields

    def _feedback(self, entry):
        # A list view passes every entry's feedback at once (selectors.entry_feedback_many);
        # otherwise it is read once per entry and kept for the next field.
        known = self.context.setdefault("feedback", {})
        if entry.pk not in known:
            known[entry.pk] = selectors.entry_feedback(entry=entry)
        return known[entry.pk]

    @extend_schema_field(AuthorReviewSerializer(many=True))
    def get_reviews(self, entry):
        reviews = [review for rnd in self._feedback(entry) for review in rnd.reviews]
        return AuthorReviewSerializer(reviews, many=True).data

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, entry):
        standing = selectors.feedback_decision_standing(self._feedback(entry))
        return DecisionSerializer(standing).data if standing is not None else None

    @extend_schema_field(OverturnNoticeSerializer(allow_null=True))
    def get_overturn(self, entry):
        latest = selectors.feedback_latest_overturn(self._feedback(entry))
        return OverturnNoticeSerializer(latest).data if latest is not None else None


class ReviewEntrySerializer(serializers.ModelSerializer):
    """An entry handed to a reviewer."""

    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source_url = _source_url_field()

    class Meta:
        model = Entry
        fields = [
            "id",
            "category",
            "instruction",
            "context",
            "response",
            "source_url",
            "submitted_at",
            "review_count",
            "lease_expires_at",
        ]
        read_only_fields = fields


class ReviewNextSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Only hand out entries of this category.",
    )


class ReviewCreateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    rating = serializers.IntegerField(min_value=1, max_value=5)
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=RejectReason.choices), required=False, default=list
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT_CHARS
    )
    instruction = _text_field(help_text="Corrected instruction (a fix, with an approval).")
    context = _text_field(help_text="Corrected reference passage.")
    response = _text_field(help_text="Corrected response.")


class ReviewSerializer(serializers.ModelSerializer):
    fixed = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "entry",
            "round",
            "verdict",
            "rating",
            "reasons",
            "comment",
            "fixed",
            "created_at",
        ]
        read_only_fields = fields

    def get_fixed(self, review) -> bool:
        # A gold answer's reply (services/gold.py) says whether its fix, vetted but not applied,
        # would have changed the text, as a review's would.
        return review.fix_id is not None or getattr(review, "fix_checked", False)


class DecideSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(max_length=MAX_DECISION_REASON_CHARS)


class OverturnCreateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=OverturnVerdict.choices,
        help_text="approve or reject: the round's new outcome; reopen: back under review.",
    )
    reason = serializers.CharField(
        max_length=MAX_DECISION_REASON_CHARS, help_text="Why; the entry's author reads it."
    )
    decision = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Optional: the id of the decision you mean to overturn (`overturn.decision` "
        "of an earlier answer); refused with 409 if the entry's outcome changed since.",
    )


class OverturnSerializer(serializers.ModelSerializer):
    """A moderator's overturn, with the decision it overturned and the one it made (none for a
    reopen) and the entry's state after it."""

    entry = serializers.IntegerField(source="decision.entry_id", read_only=True)
    entry_status = serializers.CharField(source="decision.entry.status", read_only=True)
    overturned = DecisionSerializer(source="decision", read_only=True)
    decision = serializers.SerializerMethodField()

    class Meta:
        model = Overturn
        fields = [
            "id",
            "entry",
            "entry_status",
            "verdict",
            "reason",
            "created_at",
            "overturned",
            "decision",
        ]
        read_only_fields = fields

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, overturn):
        made = getattr(overturn, "decision_made", None)
        return DecisionSerializer(made).data if made is not None else None


class EntryTextSerializer(serializers.Serializer):
    """The text of a draft; on PATCH only the fields sent change."""

    instruction = _text_field()
    context = _text_field()
    response = _text_field()
    source_url = _text_field()


class EntryCreateSerializer(EntryTextSerializer):
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.filter(is_active=True)
    )


class AgreementSerializer(serializers.Serializer):
    version = serializers.CharField(allow_null=True)
    text = serializers.CharField(allow_null=True)
    accepted = serializers.BooleanField()
    accepted_at = serializers.DateTimeField(allow_null=True)


class AgreementAcceptSerializer(serializers.Serializer):
    version = serializers.CharField(
        required=False, help_text="The version you read; refused if it is not the one in force."
    )


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    show_on_leaderboard = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    agreement = AgreementSerializer()


class ReleaseRemovalSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReleaseRemoval
        fields = ["entry", "reason", "created_at"]


class EraseSerializer(serializers.Serializer):
    confirm = serializers.CharField(
        max_length=200, help_text="Your username, exactly: the erasure is final."
    )


class ErasureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Erasure
        fields = ["created_at", "entries", "revisions", "reviews"]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        required=False, max_length=MAX_NAME_CHARS, help_text="What the token is for."
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        help_text="Days until the token is refused (default 30); null: it never expires.",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as its owner sees it: never the key, never its digest."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
        read_only_fields = fields


class TokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The key, shown this once: keep it secret.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields


class FlagSerializer(serializers.ModelSerializer):
    evidence = serializers.CharField(
        source="evidence_shown",
        read_only=True,
        help_text="What the check found; personal data is masked (the last 4 digits of a card, "
        "an e-mail address's domain).",
    )

    class Meta:
        model = Flag
        fields = [
            "id",
            "entry",
            "kind",
            "evidence",
            "blocking",
            "status",
            "duplicate_of",
            "similarity",
            "raised_by",
            "created_at",
            "resolved_at",
            "note",
        ]
        read_only_fields = fields


class FlagRaiseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    note = serializers.CharField(max_length=MAX_NOTE_CHARS)


class FlagResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["confirm", "dismiss"])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class GoldMarkSerializer(serializers.Serializer):
    expected = serializers.ChoiceField(
        choices=Verdict.choices, help_text="The verdict a careful reviewer gives this entry."
    )
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=RejectReason.choices),
        required=False,
        default=list,
        help_text="For reject, at least one: a reviewer's rejection catches it when it names one "
        "of them. For approve, none.",
    )


class GoldEntrySerializer(serializers.ModelSerializer):
    """A gold mark: the entry's known verdict, and how reviewers answered it so far."""

    entry = serializers.IntegerField(source="entry_id", read_only=True)
    marked_by = serializers.CharField(source="marked_by.get_username", read_only=True)
    handed_out = serializers.SerializerMethodField(
        help_text="Whether it is handed to reviewers now: marked, its text unchanged, decided."
    )

    class Meta:
        model = GoldEntry
        fields = [
            "entry",
            "expected",
            "reasons",
            "revision",
            "is_active",
            "handed_out",
            "marked_by",
            "marked_at",
        ]
        read_only_fields = fields

    def get_handed_out(self, gold) -> bool:
        return selectors.gold_is_handable(gold=gold)
