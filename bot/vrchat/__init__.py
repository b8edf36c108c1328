"""Async client for the VRChat Web API (group moderation). Knows nothing of Discord or the database."""

from .auth import TwoFactorPrompt
from .client import DEFAULT_BASE_URL, VRChatClient, profile_update_body
from .errors import (
    AlreadyInvited,
    AlreadyMember,
    AuthError,
    BadRequest,
    CannotInvite,
    Forbidden,
    LoginFailed,
    MalformedResponse,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    SessionExpired,
    TwoFactorRequired,
    Unauthorized,
    VRChatError,
)
from .ids import GroupRef, GroupShortCode, InvalidReference, parse_group_id, parse_group_ref, parse_user_id
from .transport import Politeness

__all__ = [
    "DEFAULT_BASE_URL",
    "AlreadyInvited",
    "AlreadyMember",
    "AuthError",
    "BadRequest",
    "CannotInvite",
    "Forbidden",
    "GroupRef",
    "GroupShortCode",
    "InvalidReference",
    "LoginFailed",
    "MalformedResponse",
    "NotFound",
    "OutcomeUnknown",
    "Politeness",
    "RateLimited",
    "ServerError",
    "SessionExpired",
    "TwoFactorPrompt",
    "TwoFactorRequired",
    "Unauthorized",
    "VRChatClient",
    "VRChatError",
    "parse_group_id",
    "parse_group_ref",
    "parse_user_id",
    "profile_update_body",
]
