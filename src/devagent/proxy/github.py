"""The GitHub API policy: writes that merge, move refs or bypass review are for a person.

REST calls are matched on a normalised path (percent escapes decoded, case folded, the
``/api/v3`` prefix of a GitHub Enterprise Server and ``/repositories/{id}`` read as
``/repos/{owner}/{repo}``). GraphQL requests are parsed with graphql-core, never searched as
text: every operation of every request in a batch, fragments and inline fragments
followed, aliases ignored (the field's own name counts), variables applied. Anything that
cannot be read - a persisted-query id, a compressed or oversized body, JSON or GraphQL
that does not parse - is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from graphql import GraphQLError, parse
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.utilities import value_from_ast_untyped

from devagent.proxy.gitpush import branch_allowed

GRAPHQL_BODY_CAP = 256 * 1024
FIELDS_CAP = 2000  # top-level fields in one document, fragments expanded
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # reads: never refused
REFUSAL_ADVICE = (
    "Merging, moving refs, approving reviews and changing protection are for a person. "
    "Do not retry this request or look for another way to do it; tell the user that the "
    "work is ready for them."
)

# Mutations refused by name, and by what their names contain (every protection or ruleset
# mutation, present and future).
REFUSED_MUTATIONS = frozenset(
    {
        "mergepullrequest", "enablepullrequestautomerge", "enqueuepullrequest",
        "mergebranch", "updateref", "updaterefs", "createref", "deleteref",
        "updatepullrequestbranch", "dismisspullrequestreview", "updaterepository",
        "archiverepository", "unarchiverepository", "transferrepository",
        "deleterepository", "updaterepositorywebcommitsignoffsetting",
    }
)  # fmt: skip
REFUSED_PARTS = ("branchprotection", "ruleset", "protectionrule")
REVIEW_MUTATIONS = frozenset({"addpullrequestreview", "submitpullrequestreview"})
REVIEW_EVENTS_ALLOWED = frozenset({"COMMENT", "REQUEST_CHANGES", "PENDING", None})

# REST: the repository subtrees no write may touch (settings, access, secrets).
_SETTINGS = frozenset(
    {
        "rulesets", "collaborators", "hooks", "keys", "environments", "transfer",
        "autolinks", "vulnerability-alerts", "automated-security-fixes", "invitations",
        "teams", "topics", "properties", "tags", "pages", "interaction-limits",
        "private-vulnerability-reporting", "code-security-configuration", "merges",
        "merge-upstream",
    }
)  # fmt: skip
_SECRETS_PARENTS = frozenset({"actions", "dependabot", "codespaces"})
_ACTIONS_SETTINGS = frozenset({"permissions", "secrets", "variables", "oidc"})


def _reason(what: str) -> str:
    return f"devagent: {what} is refused in this sandbox"


def message(reason: str) -> str:
    return f"{reason}. {REFUSAL_ADVICE}"


def normalize_path(path: str) -> list[str]:
    """The path's segments: decoded, case folded, without the GHES prefix or empty parts."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    decoded = unquote(path)
    segments = [part for part in decoded.lower().split("/") if part and part != "."]
    if segments[:2] == ["api", "v3"]:
        segments = segments[2:]
    return segments


def _repository_tail(segments: list[str]) -> list[str] | None:
    """What follows ``/repos/{owner}/{repo}`` (or ``/repositories/{id}``), else None."""
    if len(segments) >= 3 and segments[0] == "repos":
        return segments[3:]
    if len(segments) >= 2 and segments[0] == "repositories":
        return segments[2:]
    return None


def rest_reads_body(method: str, path: str) -> bool:
    """Review creation and submission: allowed unless they approve, which the body says."""
    tail = _repository_tail(normalize_path(path)) or []
    return method.upper() == "POST" and _is_review_write(tail)


def _is_review_write(tail: list[str]) -> bool:
    if len(tail) < 3 or tail[0] != "pulls" or tail[2] != "reviews":
        return False
    return len(tail) == 3 or (len(tail) == 5 and tail[4] == "events")


def rest_refusal(method: str, path: str, body: bytes | None = None) -> str | None:
    """Why a REST call is refused, or None. ``body`` is read for review writes only."""
    method = method.upper()
    if method in SAFE_METHODS:
        return None
    segments = normalize_path(path)
    if segments[:1] == ["orgs"] and (len(segments) == 2 or "rulesets" in segments):
        return _reason("changing organization settings or rulesets")
    tail = _repository_tail(segments)
    if tail is None:
        return None
    if not tail:
        return _reason("changing or deleting the repository")
    head = tail[0]
    if head == "pulls" and len(tail) == 3 and tail[2] == "merge":
        return _reason("merging a pull request")
    if head == "pulls" and len(tail) == 3 and tail[2] == "update-branch":
        return _reason("updating a pull request's branch")
    if head == "pulls" and len(tail) == 5 and tail[2] == "reviews" and tail[4] == "dismissals":
        return _reason("dismissing a review")
    if _is_review_write(tail) and method == "POST":
        return _review_body_refusal(body)
    if head in _SETTINGS:
        return _reason(f"writing {head}")
    if head == "git" and len(tail) >= 2 and tail[1] in ("refs", "ref"):
        return _reason("creating, moving or deleting refs")
    if head == "contents":
        return _reason("committing through the contents API")
    if head == "branches" and ("protection" in tail[2:] or tail[-1] == "rename"):
        return _reason("changing branch protection or renaming a branch")
    if head in _SECRETS_PARENTS and len(tail) >= 2 and tail[1] in _ACTIONS_SETTINGS:
        return _reason(f"changing {head} settings")
    return None


def _review_body_refusal(body: bytes | None) -> str | None:
    try:
        data = json.loads(body or b"{}")
        event = data.get("event") if isinstance(data, dict) else "unreadable"
    except (ValueError, UnicodeDecodeError):
        event = "unreadable"
    if event in REVIEW_EVENTS_ALLOWED:
        return None
    return _reason("approving a pull request (or a review the proxy cannot read)")


def is_graphql(path: str) -> bool:
    return normalize_path(path) in (["graphql"], ["api", "graphql"])


def graphql_refusal(
    method: str,
    query_string: str,
    body: bytes,
    *,
    content_encoding: str = "",
    patterns: tuple[str, ...] = (),
) -> str | None:
    """Why a GraphQL request is refused, or None."""
    if content_encoding.strip().lower() not in ("", "identity"):
        return _reason("a compressed GraphQL request (it cannot be read)")
    if len(body) > GRAPHQL_BODY_CAP or len(query_string) > GRAPHQL_BODY_CAP:
        return _reason("a GraphQL request this large")
    try:
        requests = _requests(method, query_string, body)
        for request in requests:
            reason = _request_refusal(request, patterns)
            if reason:
                return reason
    except (ValueError, UnicodeDecodeError, GraphQLError, TypeError, RecursionError):
        return _reason("a GraphQL request the proxy cannot read")
    return None


def _requests(method: str, query_string: str, body: bytes) -> list[Any]:
    if method.upper() == "GET":
        fields = parse_qs(query_string, keep_blank_values=True, strict_parsing=False)
        request: dict[str, Any] = {key: values[-1] for key, values in fields.items()}
        if any(len(values) != 1 for values in fields.values()):
            raise ValueError("a parameter is given twice")
        for key in ("variables", "extensions"):
            if key in request:
                request[key] = json.loads(request[key])
        return [request]
    if query_string:
        # Parameters beside a body could be read by the server instead of it.
        raise ValueError("a GraphQL POST with a query string")
    data = json.loads(body)
    return data if isinstance(data, list) else [data]


def _request_refusal(request: Any, patterns: tuple[str, ...]) -> str | None:
    if not isinstance(request, dict):
        raise ValueError("a batch entry is not an object")
    persisted = {"id", "documentId", "doc_id", "queryId"} & set(request)
    extensions = request.get("extensions")
    if persisted or (isinstance(extensions, dict) and "persistedQuery" in extensions):
        return _reason("a persisted GraphQL query (its text cannot be read)")
    query = request.get("query")
    if not isinstance(query, str):
        raise ValueError("no query text")
    variables = request.get("variables")
    variables = {} if variables is None else variables
    if not isinstance(variables, dict):
        raise ValueError("variables are not an object")
    document = parse(query, no_location=True, max_tokens=20000)
    for field in _root_fields(document):
        reason = _field_refusal(field, variables, patterns)
        if reason:
            return reason
    return None


def _root_fields(document: DocumentNode) -> Iterator[FieldNode]:
    """The top-level fields of every operation, through fragments (a cycle, an undefined
    fragment or more than ``FIELDS_CAP`` fields make the document unreadable)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    count = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for field in _fields(definition.selection_set, fragments, ()):
                count += 1
                if count > FIELDS_CAP:
                    raise ValueError("too many fields")
                yield field


def _fields(
    selections: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    expanding: tuple[str, ...],
) -> Iterator[FieldNode]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, expanding)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in fragments or name in expanding:
                raise ValueError(f"fragment {name} is undefined or spreads itself")
            yield from _fields(fragments[name].selection_set, fragments, (*expanding, name))


def _field_refusal(
    field: FieldNode, variables: dict[str, Any], patterns: tuple[str, ...]
) -> str | None:
    name = field.name.value.lower()
    if name in REFUSED_MUTATIONS or any(part in name for part in REFUSED_PARTS):
        return _reason(f"the GraphQL mutation {field.name.value}")
    arguments = {
        argument.name.value: value_from_ast_untyped(argument.value, variables)
        for argument in field.arguments or ()
    }
    given = arguments.get("input")
    mutation_input = given if isinstance(given, dict) else {}
    if name in REVIEW_MUTATIONS and mutation_input.get("event") not in REVIEW_EVENTS_ALLOWED:
        return _reason("approving a pull request")
    if name == "createcommitonbranch":
        branch = mutation_input.get("branch")
        branch_name = branch.get("branchName") if isinstance(branch, dict) else None
        if not isinstance(branch_name, str) or not branch_allowed(branch_name, patterns):
            where = ", ".join(patterns) or "no"
            return _reason(f"committing to a branch outside {where} branches")
    return None
