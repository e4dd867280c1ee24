"""Tokens for scripts: sign in with a password for a new token; list and revoke your own."""

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors, services
from annotation.api.serializers import (
    ApiTokenSerializer,
    ErrorSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from annotation.lookups import own_api_token_or_404
from annotation.models import ApiToken
from annotation.services.tokens import PASSWORD_SIGN_IN_TOKEN_DAYS, PASSWORD_SIGN_IN_TOKEN_NAME
from config.errors import DomainError

PASSWORD_SIGN_IN_OFF = (
    "Password sign-in is off on this site: sign in through your company and create a token "
    "on your profile page."
)
WRONG_CREDENTIALS = "Unable to sign in with the username and password given."


class TokenApi(APIView):
    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Wrong username or password, or a bad field."),
            403: OpenApiResponse(ErrorSerializer, description="Password sign-in is off."),
            429: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "Too many failed sign-ins for this username or from this address: wait "
                    "`retry_after` seconds (also in the Retry-After header)."
                ),
            ),
        },
        summary="Sign in with a password: a new token, its key shown once",
    )
    def post(self, request):
        if not settings.FLOCK_PASSWORD_SIGN_IN:
            raise PermissionDenied(PASSWORD_SIGN_IN_OFF)
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The Django request, so that sign-in throttling (django-axes) sees and marks it.
        user = authenticate(
            request=request._request, username=data["username"], password=data["password"]
        )
        if user is None:
            raise ValidationError({"non_field_errors": [WRONG_CREDENTIALS]})
        token, key = services.api_token_create(
            user=user,
            name=data.get("name") or PASSWORD_SIGN_IN_TOKEN_NAME,
            expires_in_days=data.get("expires_in_days", PASSWORD_SIGN_IN_TOKEN_DAYS),
        )
        # No cache keeps it: every /api/ answer is no-store (config.middleware).
        return Response({"token": key, **ApiTokenSerializer(token).data})

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="The token of this request is revoked."),
            400: OpenApiResponse(ErrorSerializer, description="The request carried no token."),
        },
        summary="Sign a script out: revoke the token this request carries",
    )
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise DomainError("Send the token to revoke in the header `Authorization: Token …`.")
        services.api_token_revoke(token=request.auth, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeTokensApi(APIView):
    pagination_class = None

    @extend_schema(responses=ApiTokenSerializer(many=True), summary="Your API tokens")
    def get(self, request):
        tokens = selectors.api_tokens_of(user=request.user)
        return Response(ApiTokenSerializer(tokens, many=True).data)


class MeTokenApi(APIView):
    @extend_schema(
        responses={
            204: OpenApiResponse(description="Revoked."),
            404: OpenApiResponse(ErrorSerializer, description="Not found, or not yours."),
        },
        summary="Revoke one of your API tokens",
    )
    def delete(self, request, token_id: int):
        token = own_api_token_or_404(request.user, token_id)
        services.api_token_revoke(token=token, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
