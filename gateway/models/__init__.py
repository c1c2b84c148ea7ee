"""The data model. Import from here so every table is registered with the metadata."""

from gateway.models.api_tokens import ApiIdempotencyKey, ApiToken
from gateway.models.audit import AuditEntry, AuditHead, AuditStaged, PostContent
from gateway.models.channels import PLATFORMS, Channel
from gateway.models.checkpoints import AuditFacet as AuditFacet
from gateway.models.checkpoints import LogCheckpoint as LogCheckpoint
from gateway.models.emergency import EmergencyReview, EmergencyTemplate
from gateway.models.identities import UserIdentity
from gateway.models.platform_apps import PlatformApp
from gateway.models.policy import (
    AllowedContact,
    ClosureDay,
    Election,
    PolicySetting,
    PolicyVersion,
    RegisterPerson,
)
from gateway.models.posts import Approval, Delivery, Post, PostEditor, PostImage
from gateway.models.two_factor import RecoveryCode, UserTwoFactor
from gateway.models.users import User, UserRole, UserSession
from gateway.models.webhooks import WebhookAttempt, WebhookEndpoint, WebhookMessage

__all__ = [
    "PLATFORMS",
    "AllowedContact",
    "ApiIdempotencyKey",
    "ApiToken",
    "Approval",
    "AuditEntry",
    "AuditHead",
    "AuditStaged",
    "Channel",
    "ClosureDay",
    "Delivery",
    "Election",
    "EmergencyReview",
    "EmergencyTemplate",
    "Post",
    "PostContent",
    "PostEditor",
    "PlatformApp",
    "PolicySetting",
    "PolicyVersion",
    "PostImage",
    "RecoveryCode",
    "RegisterPerson",
    "User",
    "UserIdentity",
    "UserRole",
    "UserSession",
    "UserTwoFactor",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookMessage",
]
