"""Async client for the VRChat Web API (group moderation). Knows nothing of Discord or the database."""

from .auth import SessionState, TwoFactorPrompt
from .client import DEFAULT_BASE_URL, VRChatClient, profile_update_body
from .errors import (
    AlreadyInvited,
    AlreadyMember,
    AuthError,
    BadRequest,
    CallRefused,
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
    "CallRefused",
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
    "SessionState",
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
