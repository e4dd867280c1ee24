"""`Authorization: Token <key>`, the header scripts send, against the hashed API tokens."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from annotation import services


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and 401 answers; the look-up is services.api_token_authenticate.

    `request.auth` is the ApiToken, so an endpoint can tell which token made the call.
    """

    keyword = "Token"

    def authenticate_credentials(self, key):
        try:
            token = services.api_token_authenticate(key=key)
        except services.TokenRefused as refused:
            raise AuthenticationFailed(refused.message) from None
        return token.user, token
