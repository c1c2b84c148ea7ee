"""The API's request and response shapes (pydantic): they validate each request, check each
response, and are the OpenAPI document's schemas (gateway.api.spec), so the three agree."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.audit.query import PAGE_SIZE as AUDIT_PAGE_ROWS
from gateway.domain.emergency import CATEGORIES
from gateway.domain.statuses import DeliveryStatus, PostStatus
from gateway.posts.service import MAX_REASON_CHARS, MAX_TEXT_CHARS
from gateway.transparency.rules import OUTCOMES

#: A post names up to this many channels: more than any council runs, and a bound on the work
#: one request can ask for.
MAX_CHANNELS = 50
#: Posts per page of the list, by default and at most.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

#: Ids are 32-bit integers in both databases: a larger number names nothing.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def id_cursor(value: str | None) -> int | None:
    """A page cursor that is an id ("rows with a smaller id"): None for the first page, and
    for one past every id (a larger number would overflow PostgreSQL's integer)."""
    if not value or int(value) > MAX_ID:
        return None
    return int(value)


OutcomeName = Literal[tuple(sorted(OUTCOMES))]  # type: ignore[valid-type]
#: Entries per page of the log, at most: the auditors' page's own size.
AUDIT_PAGE_SIZE = AUDIT_PAGE_ROWS
EmergencyCategory = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
PostStatusName = Literal[tuple(s.value for s in PostStatus)]  # type: ignore[valid-type]
DeliveryStatusName = Literal[tuple(s.value for s in DeliveryStatus)]  # type: ignore[valid-type]


class _In(BaseModel):
    # A field the API does not know is refused, not ignored: a typo ("schedule_at") must not
    # quietly leave a post without its time.
    model_config = ConfigDict(extra="forbid")


class PostCreate(_In):
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="The text; on a bilingual post (with text_cy) the English text.",
    )
    text_cy: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="The Welsh text: required while the gateway publishes in both languages.",
    )
    channel_ids: list[Id] = Field(min_length=1, max_length=MAX_CHANNELS)
    scheduled_at: AwareDatetime | None = Field(
        None, description="When it goes out, with its UTC offset (RFC 3339). Needed to submit."
    )


class EmergencyCreate(_In):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    category: EmergencyCategory = Field(  # type: ignore[valid-type]
        description="What kind of emergency: "
        + "; ".join(f"{k} ({v})" for k, v in CATEGORIES.items())
    )
    channel_ids: list[Id] = Field(
        min_length=1,
        max_length=MAX_CHANNELS,
        description="Where it goes. A channel that cannot take it (its platform's limits, or it "
        "needs reconnecting) is left out, with why, and the others still get it.",
    )


class PostEdit(_In):
    """What changes: a field left out keeps its value."""

    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT_CHARS)
    text_cy: str | None = Field(None, min_length=1, max_length=MAX_TEXT_CHARS)
    channel_ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_CHANNELS)
    scheduled_at: AwareDatetime | None = None


class Reason(_In):
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


class GuardrailCheck(_In):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    channel_ids: list[Id] = Field(default_factory=list, max_length=MAX_CHANNELS)
    scheduled_at: AwareDatetime | None = Field(
        None,
        description="Check as at this time (office hours, pre-election periods); now if left out.",
    )


class PostListQuery(_In):
    status: PostStatusName | None = None  # type: ignore[valid-type]
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the last page")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class AuditFilterQuery(_In):
    """The auditors' page's filters (gateway.audit.query.AuditFilter), as query parameters."""

    date_from: date | None = Field(None, description="From this London date (YYYY-MM-DD).")
    date_to: date | None = Field(None, description="To this London date, inclusive.")
    channel_id: Id | None = None
    officer_id: Id | None = Field(None, description="The user who acted.")
    action: str | None = Field(
        None,
        max_length=60,
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$",
        description="A dotted action such as post.approved.",
    )
    outcome: OutcomeName | None = Field(  # type: ignore[valid-type]
        None, description="A delivery outcome."
    )
    rule: str | None = Field(
        None, min_length=1, max_length=120, description="A guardrail rule, such as political.party."
    )
    emergency: bool | None = Field(None, description="Only emergency posts, or none of them.")
    post_id: Id | None = None


class AuditQuery(AuditFilterQuery):
    """The filters, and a page of the log."""

    cursor: str | None = Field(
        None, pattern=r"^[0-9]{1,19}$", description="next_cursor of the last page"
    )
    limit: int = Field(AUDIT_PAGE_SIZE, ge=1, le=AUDIT_PAGE_SIZE)


class AuditEntryOut(BaseModel):
    seq: int
    time: datetime
    action: str
    actor: dict
    object: dict | None
    payload: dict
    content_sha256: str | None
    entry_hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next (older) page; null at the oldest."
    )


class FindingOut(BaseModel):
    """One guardrail finding, in the words and order the post page shows them."""

    rule: str
    outcome: Literal["block", "refer", "advise"]
    reason: str
    clause: str = Field(description="The policy clause it cites.")
    span: list[int] | None = Field(None, description="[start, end) in the text it was found in")
    matched: str | None = None
    language: str | None = None
    channel_ids: list[int] = Field(default_factory=list)


class DeliveryOut(BaseModel):
    id: int
    channel_id: int
    channel_name: str
    platform: str
    language: str = Field(description='"" for a post in one language; "cy", "en", "cy+en"...')
    status: DeliveryStatusName  # type: ignore[valid-type]
    due_at: datetime | None
    published_at: datetime | None
    platform_url: str | None = Field(description="The post on the platform, once published.")
    held_reason: str | None


class Actions(BaseModel):
    """What this token's owner may do to the post now."""

    edit: bool
    take_over: bool
    submit: bool
    approve: bool
    reject: bool
    referral: bool
    cancel: bool


class ImageOut(BaseModel):
    """One image of a post, as stored: re-encoded without its metadata (EXIF and GPS gone)."""

    id: int
    position: int
    filename: str
    content_type: Literal["image/jpeg", "image/png", "image/gif"]
    size_bytes: int
    width: int | None
    height: int | None
    sha256: str = Field(description="SHA-256 of the stored (cleaned) image.")
    alt_text: str
    alt_text_cy: str | None = Field(description="The Welsh alt text, on a bilingual post.")
    url: str = Field(description="The image itself (GET, with the same token).")


class PostOut(BaseModel):
    id: int
    status: PostStatusName  # type: ignore[valid-type]
    text: str
    text_cy: str | None
    author_id: int
    holder_id: int
    scheduled_at: datetime | None
    emergency_category: str | None
    emergency_release: Literal["at_once", "at_once_in_hours", "fast_track"] | None = Field(
        description="How an emergency post was sent: at once, or to another officer's "
        "fast-track approval (in office hours)."
    )
    version: int = Field(description="Changes with every change; the ETag carries it.")
    created_at: datetime
    updated_at: datetime
    deliveries: list[DeliveryOut]
    images: list[ImageOut]
    findings: list[FindingOut]
    actions: Actions


class PostSummary(BaseModel):
    id: int
    status: PostStatusName  # type: ignore[valid-type]
    text: str
    author_id: int
    scheduled_at: datetime | None
    emergency_category: str | None
    version: int
    updated_at: datetime


class PostPage(BaseModel):
    items: list[PostSummary]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null at the end."
    )


class CheckResult(BaseModel):
    blocked: bool = Field(description="True when a finding would stop the post being submitted.")
    checked_at: datetime
    findings: list[FindingOut]


class FieldProblem(BaseModel):
    pointer: str = Field(
        description='JSON Pointer (RFC 6901) into the body, such as "/text"; "" for a query '
        "parameter."
    )
    parameter: str | None = Field(None, description="The query parameter that is wrong.")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(
        None, description="Each field that is wrong, with what to do (422)."
    )
    findings: list[FindingOut] | None = Field(
        None, description="The guardrails' findings that refused it, as the post page shows them."
    )


# --- Webhooks (admins) ------------------------------------------------------------------------


class WebhookEndpointOut(BaseModel):
    """A registered webhook endpoint; never its secret (shown once, on the admin page)."""

    id: int
    url: str
    description: str
    events: list[str] = Field(description="The event types it is sent.")
    enabled: bool
    created_at: datetime
    secret_rotated_at: datetime | None
    waiting: int = Field(description="Messages not sent yet (waiting or being sent).")


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointOut]


class WebhookAttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None


class WebhookMessageOut(BaseModel):
    message_id: str = Field(description="Its webhook-id header.")
    event_type: str
    status: Literal["pending", "sending", "delivered", "gave_up"]
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    gave_up_reason: str | None
    body: str = Field(description="The JSON body exactly as sent (and signed).")
    attempts: list[WebhookAttemptOut]


class WebhookMessageList(BaseModel):
    items: list[WebhookMessageOut] = Field(description="The newest messages first, at most 50.")
