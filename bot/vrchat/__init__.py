"""Async client for the VRChat Web API (group moderation). Knows nothing of Discord or the database."""

from .api import VRChatAPI
from .auth import SessionState
from .client import DEFAULT_BASE_URL, VRChatClient
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
from .profile import profile_update_body
from .transport import Politeness
from .two_factor import TwoFactorPrompt

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
    "VRChatAPI",
    "VRChatClient",
    "VRChatError",
    "parse_group_id",
    "parse_group_ref",
    "parse_user_id",
    "profile_update_body",
]
