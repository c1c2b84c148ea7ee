"""Schemathesis against the API's own OpenAPI document (issue 17): every operation, with
generated requests (valid ones, and ones the document says are wrong), sent with a token of
each role. No answer is a 5xx, and every answer (its status, its content type, its headers and
its body) is one the document declares."""

from __future__ import annotations

import io
import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from gateway.audit.log import Actor
from gateway.extensions import db
from gateway.models import ApiToken
from gateway.webhooks import endpoints
from tests.api.conftest import BLOCKED_TEXT, CLEAN_TEXT, ROLES, TOMORROW, make_token, new_post
from tests.api.test_images_api import png_bytes

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Generated requests per operation and mode: enough to reach each operation's errors; the
#: whole run stays a few minutes on two cores.
EXAMPLES = 12


def _seed(api, people, channels) -> list[int]:
    """Posts in each state an operation can meet: drafts, one blocked, one awaiting approval,
    one approved, one cancelled."""
    x = channels["x"]
    ids = [new_post(api, people, channel_ids=[x]).get_json()["id"] for _ in range(3)]
    ids.append(new_post(api, people, text=BLOCKED_TEXT, channel_ids=[x]).get_json()["id"])
    api.post(f"/api/v1/posts/{ids[1]}/submit", headers=people.headers("a"))
    approved = new_post(api, people, text=CLEAN_TEXT + " Approved.", channel_ids=[x])
    approved_id = approved.get_json()["id"]
    api.post(f"/api/v1/posts/{approved_id}/submit", headers=people.headers("a"))
    api.post(f"/api/v1/posts/{approved_id}/approve", headers=people.headers("b"))
    api.post(f"/api/v1/posts/{ids[2]}/cancel", headers=people.headers("a"))
    return [*ids, approved_id]


def _seed_more(app, api, people, posts) -> dict[str, list]:
    """What the other operations' path parameters name: an image on a draft, a signed
    checkpoint, a token an admin may revoke (not one of the sweep's own), and each a number
    that names nothing; a webhook endpoint."""
    draft = api.get(f"/api/v1/posts/{posts[0]}", headers=people.headers("a"))
    added = api.post(
        f"/api/v1/posts/{posts[0]}/images",
        data={"file": (io.BytesIO(png_bytes()), "map.png", "image/png"), "alt_text": "A map"},
        headers=people.headers("a", **{"If-Match": draft.headers["ETag"]}),
        content_type="multipart/form-data",
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    image_id = added.get_json()["images"][0]["id"]
    checkpoint = api.post("/api/v1/audit/checkpoints", headers=people.headers("auditor"))
    make_token(people.signed_in("b"), "Spare")
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True  # a receiver on loopback, never called here
    with app.app_context():
        spare = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Spare"))
        endpoint, _secret = endpoints.create(
            url="https://127.0.0.1:9/hook",
            description="The sweep's",
            events=["post.published"],
            enabled=True,
            actor=Actor.system(),
        )
        db.session.commit()
        endpoint_id = endpoint.id
    return {
        "image_id": [image_id, 999_999],
        "checkpoint_id": [checkpoint.get_json()["id"], 999_999],
        "token_id": [spare, 999_999],
        "endpoint_id": [endpoint_id, 999_999],
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_with_each_roles_token(app, api, people, channels, mode):
    # Hundreds of calls a minute per token: the rate limit has its own test.
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    posts = _seed(api, people, channels)
    bearers = {key: {"Authorization": f"Bearer {people.token(key)}"} for key in ROLES}
    named = {
        "post_id": [*posts, 999_999],
        "channel_id": [*channels.values(), 999_999],
        **_seed_more(app, api, people, posts),
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    cycles = {name: itertools.cycle(values) for name, values in named.items()}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 26
    seen: dict[str, set[int]] = {}

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            if mode is GenerationMode.POSITIVE:
                for name in case.path_parameters or {}:
                    case.path_parameters[name] = next(cycles[name])
            for headers in bearers.values():
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)
                seen.setdefault(operation.label, set()).add(response.status_code)

        exercise()

    assert set(seen) == {op.label for op in operations}
    if mode is GenerationMode.POSITIVE:
        # The valid requests did reach the operations, not only their refusals.
        assert 200 in seen["GET /api/v1/posts"] and 201 in seen["POST /api/v1/posts"]
        assert 200 in seen["POST /api/v1/guardrails/check"]
        for label in (
            "GET /api/v1/schedule",
            "GET /api/v1/channels",
            "GET /api/v1/audit/checkpoints",
            "GET /api/v1/admin/api-tokens",
            "GET /api/v1/posts/{post_id}/images/{image_id}",
            "GET /api/v1/audit/export",
            "GET /api/v1/webhooks",
            "GET /api/v1/webhooks/{endpoint_id}/messages",
        ):
            assert 200 in seen[label], label


def _evaluate(expression: str, response) -> str:
    """The two runtime expressions (OpenAPI 3.1 section 4.8.20.4) the document's links use."""
    if expression.startswith("$response.body#/"):
        value = response.json()
        for part in expression.removeprefix("$response.body#/").split("/"):
            value = value[int(part)] if isinstance(value, list) else value[part]
        return value
    if expression.startswith("$response.header."):
        # Header names are case-insensitive (RFC 9110 5.1); Schemathesis keeps each as a list.
        wanted = expression.removeprefix("$response.header.").lower()
        values = next(v for k, v in response.headers.items() if k.lower() == wanted)
        return values[0] if isinstance(values, list) else values
    raise AssertionError(f"an expression this test does not read: {expression}")


def test_the_documents_links_lead_from_a_new_post_to_its_approval(app, api, people, channels):
    """Create, then follow the links the document declares (edit, submit, approve, read), each
    request built from the previous answer's id and ETag as the links say, each answer checked
    by Schemathesis against the document. Officer A writes; officer B approves."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    writer = {"Authorization": f"Bearer {people.token('a')}"}
    decider = {"Authorization": f"Bearer {people.token('b')}"}
    operations = {op.definition.raw["operationId"]: op for op in _operations(schema)}

    def call(operation_id, headers, *, path_parameters=None, body=None, link_headers=None):
        operation = operations[operation_id]
        kwargs = {
            "path_parameters": path_parameters or {},
            "headers": {**headers, **(link_headers or {})},
        }
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = operation.Case(**kwargs)
        response = case.call()
        case.validate_response(response, checks=CHECKS, headers=kwargs["headers"])
        return response

    def follow(previous_id, code, response, link, headers, **extra):
        item = next(
            op for op in _operations(schema) if op.definition.raw["operationId"] == previous_id
        )
        spec_link = item.definition.raw["responses"][code]["links"][link]
        path_parameters, link_headers = {}, {}
        for name, expression in spec_link["parameters"].items():
            value = _evaluate(expression, response)
            if name.startswith("header."):
                link_headers[name.removeprefix("header.")] = value
            else:
                path_parameters[name.removeprefix("path.")] = value
        return call(
            spec_link["operationId"],
            headers,
            path_parameters=path_parameters,
            link_headers=link_headers,
            **extra,
        )

    created = call(
        "createPost",
        writer,
        body={"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW},
    )
    assert created.status_code == 201
    edited = follow(
        "createPost", "201", created, "edit", writer, body={"text": CLEAN_TEXT + " Now."}
    )
    assert edited.status_code == 200
    submitted = follow("editPost", "200", edited, "submit", writer)
    assert submitted.status_code == 200 and submitted.json()["status"] == "awaiting_approval"
    # The writer's own approval, through the same link, is refused.
    assert follow("submitPost", "200", submitted, "approve", writer).status_code == 403
    approved = follow("submitPost", "200", submitted, "approve", decider)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    read = follow("approvePost", "200", approved, "read", writer)
    assert read.status_code == 200 and read.json()["deliveries"][0]["status"] == "scheduled"


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def test_the_links_from_a_new_post_to_its_image_and_back(app, api, people, channels):
    """Create a post, follow its add_image link with a multipart body, then the image's own
    links (read it, remove it), each answer checked by Schemathesis against the document."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    writer = {"Authorization": f"Bearer {people.token('a')}"}
    operations = {op.definition.raw["operationId"]: op for op in _operations(schema)}

    def call(operation_id, *, path_parameters=None, headers=None, body=None, media_type=None):
        kwargs = {
            "path_parameters": path_parameters or {},
            "headers": {**writer, **(headers or {})},
        }
        if body is not None:
            kwargs["body"], kwargs["media_type"] = body, media_type
        case = operations[operation_id].Case(**kwargs)
        response = case.call()
        case.validate_response(response, checks=CHECKS, headers=kwargs["headers"])
        return response

    def follow(source, code, response, link, **extra):
        spec_link = operations[source].definition.raw["responses"][code]["links"][link]
        path_parameters, headers = {}, {}
        for name, expression in spec_link["parameters"].items():
            value = _evaluate(expression, response)
            if name.startswith("header."):
                headers[name.removeprefix("header.")] = value
            else:
                path_parameters[name] = value
        return call(
            spec_link["operationId"], path_parameters=path_parameters, headers=headers, **extra
        )

    created = call(
        "createPost",
        body={"text": CLEAN_TEXT, "channel_ids": [channels["x"]], "scheduled_at": TOMORROW},
        media_type="application/json",
    )
    added = follow(
        "createPost",
        "201",
        created,
        "add_image",
        body={"file": png_bytes(), "alt_text": "A map of the closed road"},
        media_type="multipart/form-data",
    )
    assert added.status_code == 201, added.text
    image = follow("addPostImage", "201", added, "read_image")
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    removed = follow("addPostImage", "201", added, "remove_image")
    assert removed.status_code == 200 and removed.json()["images"] == []
