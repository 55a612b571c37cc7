from __future__ import annotations

import gzip
import json

import pytest

from devagent.proxy.github import graphql_refusal, is_graphql, rest_reads_body, rest_refusal

REFUSED_REST = [
    ("PUT", "/repos/o/r/pulls/7/merge"),
    ("PUT", "/api/v3/repos/o/r/pulls/7/merge"),
    ("PUT", "/repositories/123/pulls/7/merge"),
    ("PUT", "/REPOS/O/R/PULLS/7/MERGE/"),
    ("PUT", "/repos/o/r/pulls/7/%6Derge"),
    ("PUT", "//repos//o/r/pulls/7/merge"),
    ("POST", "/repos/o/r/merges"),
    ("POST", "/repos/o/r/merge-upstream"),
    ("POST", "/repos/o/r/git/refs"),
    ("PATCH", "/repos/o/r/git/refs/heads/main"),
    ("DELETE", "/repos/o/r/git/refs/heads/agent/x"),
    ("PUT", "/repos/o/r/contents/README.md"),
    ("DELETE", "/repos/o/r/contents/src/a.py"),
    ("PUT", "/repos/o/r/pulls/7/update-branch"),
    ("PUT", "/repos/o/r/pulls/7/reviews/9/dismissals"),
    ("PUT", "/repos/o/r/branches/main/protection"),
    ("DELETE", "/repos/o/r/branches/agent/x/protection/required_signatures"),
    ("POST", "/repos/o/r/branches/main/rename"),
    ("POST", "/repos/o/r/rulesets"),
    ("PUT", "/repos/o/r/rulesets/4"),
    ("PATCH", "/repos/o/r"),
    ("DELETE", "/repos/o/r"),
    ("PUT", "/repos/o/r/collaborators/someone"),
    ("POST", "/repos/o/r/keys"),
    ("POST", "/repos/o/r/hooks"),
    ("PUT", "/repos/o/r/actions/permissions"),
    ("PUT", "/repos/o/r/actions/secrets/TOKEN"),
    ("POST", "/orgs/o/rulesets"),
    ("PATCH", "/orgs/o"),
    ("PURGE", "/repos/o/r/pulls/7/merge"),  # an unknown method is a write
]

ALLOWED_REST = [
    ("GET", "/repos/o/r/pulls/7/merge"),  # is it merged?
    ("GET", "/repos/o/r/git/refs/heads/main"),
    ("POST", "/repos/o/r/issues/7/comments"),
    ("POST", "/repos/o/r/pulls"),
    ("PATCH", "/repos/o/r/pulls/7"),
    ("POST", "/repos/o/r/git/blobs"),
    ("POST", "/repos/o/r/actions/runs/5/rerun"),
    ("GET", "/user"),
]


@pytest.mark.parametrize(("method", "path"), REFUSED_REST)
def test_rest_writes_that_merge_or_bypass_review_are_refused(method: str, path: str) -> None:
    reason = rest_refusal(method, path)
    assert reason is not None and reason.startswith("devagent: ")


@pytest.mark.parametrize(("method", "path"), ALLOWED_REST)
def test_other_rest_calls_pass(method: str, path: str) -> None:
    assert rest_refusal(method, path) is None


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (b'{"event": "APPROVE"}', True),
        (b'{"event": "COMMENT", "body": "looks fine"}', False),
        (b'{"event": "REQUEST_CHANGES"}', False),
        (b'{"body": "pending"}', False),
        (b"not json", True),
        (b'{"event": "\\u0041PPROVE"}', True),
    ],
)
def test_review_writes_are_read_and_approvals_refused(body: bytes, refused: bool) -> None:
    for path in ("/repos/o/r/pulls/7/reviews", "/repos/o/r/pulls/7/reviews/3/events"):
        assert rest_reads_body("POST", path)
        assert (rest_refusal("POST", path, body) is not None) is refused


def _post(query: str, **more: object) -> bytes:
    return json.dumps({"query": query, **more}).encode()


REFUSED_GRAPHQL = [
    _post('mutation { mergePullRequest(input: {pullRequestId: "x"}) { clientMutationId } }'),
    _post("mutation { ok: enablePullRequestAutoMerge(input: {}) { clientMutationId } }"),
    _post("mutation { enqueuePullRequest(input: {}) { clientMutationId } }"),
    _post("mutation { updateRef(input: {}) { clientMutationId } }"),
    _post("mutation { updateRefs(input: {}) { clientMutationId } }"),
    _post("mutation { createRef(input: {}) { clientMutationId } }"),
    _post("mutation { deleteRef(input: {}) { clientMutationId } }"),
    _post("mutation { mergeBranch(input: {}) { clientMutationId } }"),
    _post("mutation { updateBranchProtectionRule(input: {}) { clientMutationId } }"),
    _post("mutation { createRepositoryRuleset(input: {}) { clientMutationId } }"),
    _post("mutation { dismissPullRequestReview(input: {}) { clientMutationId } }"),
    _post("mutation { addPullRequestReview(input: {event: APPROVE}) { clientMutationId } }"),
    _post(
        "mutation R($e: PullRequestReviewEvent) { submitPullRequestReview(input: {event: $e}) "
        "{ clientMutationId } }",
        variables={"e": "APPROVE"},
    ),
    _post(
        "mutation C($i: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $i) { x } }",
        variables={"i": {"branch": {"branchName": "main"}}},
    ),
    _post('mutation { createCommitOnBranch(input: {branch: {id: "R_1"}}) { x } }'),
    # Fragments, inline fragments, aliases, several operations and an operationName that
    # names the harmless one.
    _post(
        "query A { viewer { login } } mutation B { ...F } "
        "fragment F on Mutation { harmless: mergePullRequest(input: {}) { x } }",
        operationName="A",
    ),
    _post("mutation { ... on Mutation { mergePullRequest(input: {}) { x } } }"),
    _post("mutation { ...F } fragment F on Mutation { ...G } fragment G on Mutation { ...F }"),
    # JSON escapes hide the name from a substring test, not from a parser.
    b'{"query": "mutation { \\u006dergePullRequest(input: {}) { x } }"}',
    # A batch with one bad request in it.
    json.dumps(
        [{"query": "{ viewer { login } }"}, {"query": "mutation { deleteRef(input: {}) { x } }"}]
    ).encode(),
    # What cannot be read.
    b'{"id": "4f1e2c", "variables": {}}',
    b'{"extensions": {"persistedQuery": {"sha256Hash": "abc"}}, "query": "{ a }"}',
    b'{"query": "mutation { oops "}',
    b"[1]",
    b"not json",
    b'{"query": "{ a }", "variables": []}',
    _post("mutation { ...Missing }"),
    b'{"query": "' + b"{ a " * 70000 + b'}"}',  # larger than the cap
]


@pytest.mark.parametrize("body", REFUSED_GRAPHQL)
def test_graphql_mutations_that_merge_or_bypass_review_are_refused(body: bytes) -> None:
    reason = graphql_refusal("POST", "", body, patterns=("agent/*",))
    assert reason is not None and reason.startswith("devagent: ")


@pytest.mark.parametrize(
    "body",
    [
        _post("query { viewer { login } }"),
        _post('mutation { addComment(input: {subjectId: "I_1", body: "hi"}) { x } }'),
        _post("mutation { addPullRequestReview(input: {event: COMMENT}) { x } }"),
        _post(
            "mutation C($i: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $i) { x } }",
            variables={"i": {"branch": {"branchName": "agent/fix"}}},
        ),
        json.dumps([{"query": "{ a }"}, {"query": "{ b }"}]).encode(),
    ],
)
def test_reads_and_harmless_writes_pass(body: bytes) -> None:
    assert graphql_refusal("POST", "", body, patterns=("agent/*",)) is None


def test_get_queries_compressed_bodies_and_query_strings() -> None:
    assert graphql_refusal("GET", "query=%7Bviewer%7Blogin%7D%7D", b"") is None
    assert graphql_refusal("GET", "query=mutation%7BupdateRef(input:%7B%7D)%7Bx%7D%7D", b"")
    assert graphql_refusal("GET", "query=%7Ba%7D&query=mutation%7BdeleteRef%7Bx%7D%7D", b"")
    packed = gzip.compress(_post("{ viewer { login } }"))
    assert graphql_refusal("POST", "", packed, content_encoding="gzip")
    assert graphql_refusal("POST", "query=x", _post("{ a }"))


def test_is_graphql() -> None:
    assert is_graphql("/graphql") and is_graphql("/api/graphql?x=1") and is_graphql("/GraphQL/")
    assert not is_graphql("/repos/o/r/graphql")


def test_fragments_that_multiply_are_cut_off() -> None:
    levels = ["fragment F0 on Mutation { viewer }"]
    levels += [f"fragment F{n} on Mutation {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, 30)]
    body = _post("mutation { ...F29 } " + " ".join(levels))
    assert graphql_refusal("POST", "", body) is not None  # 2**29 fields: not expanded
    assert graphql_refusal("POST", "", _post("{ ...F ...F } fragment F on Query { a }")) is None
