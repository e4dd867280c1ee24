from rest_framework import serializers

from annotation.models import Category, Entry
from annotation.text import DRAFT_HARD_LIMIT


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


class EntrySerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)

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
        ]
        read_only_fields = fields


def _text_field(**kwargs):
    # No trimming here: the services normalise text, and drafts keep what the writer typed.
    return serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=DRAFT_HARD_LIMIT,
        **kwargs,
    )


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


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
