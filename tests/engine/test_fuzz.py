"""Fuzz every Amazon Personalize operation at the engine, from botocore's service models.

For each operation of personalize, personalize-runtime and personalize-events (the ones
the engine serves and the ones it does not), request bodies come from the operation's
input shape:

- typed: well-typed members (unicode strings, names, the ARNs of real resources, numbers
  at and past their bounds, 1e30, 2**63, lists past their length), required members
  sometimes missing, sent through boto3 with parameter validation off;
- raw: any JSON in any member (wrong types, NaN, huge numbers, nesting), unknown members,
  bodies that are no JSON at all and other HTTP methods, signed with SigV4 and sent with
  httpx;
- hostile members: a fixed list of hostile values put in each member of a complete body,
  one at a time, so that the classic crashes are tried on every run.

Every answer must be a success or a 4xx in AWS's error shape (`__type` or
`x-amzn-ErrorType`, and a message): never a 5xx, never a dropped connection. Requests
with a broken signature must be refused the same way.

Real resources: a dataset group of this module's own (imported, a popularity campaign, a
filter, an event tracker), which any operation may use and change, and the shared
`small_group`, which only the read operations (Describe, List, Get) see. Reproducible:
derandomized Hypothesis, no example database, bounded examples (scaled by FUZZ_EXAMPLES).
"""

from __future__ import annotations

import base64
import datetime
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel, Shape
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from services.engine import events
from services.engine.controlplane import OPERATIONS
from services.engine.runtime import routes as runtime_routes
from tests.engine.helpers import (
    INTERACTIONS_SCHEMA,
    ROLE_ARN,
    Clients,
    client_kwargs,
    create_group,
    deploy,
    recipe_arn,
    signed_headers,
    train,
    unique,
    wait_for,
)
from tests.utils.fuzz import MAX_EXAMPLES
from tests.utils.servers import RunningServer

SERVICES = ("personalize", "personalize-runtime", "personalize-events")
_session = botocore.session.get_session()
MODELS: dict[str, ServiceModel] = {name: _session.get_service_model(name) for name in SERVICES}
SERVED = frozenset(OPERATIONS) | {r.name for r in [*runtime_routes.routes, *events.routes]}
# Deletes last, so that the operations before them still find the resources.
CASES = sorted(
    (
        pytest.param(service, name, id=f"{service}:{name}")
        for service, model in MODELS.items()
        for name in model.operation_names
    ),
    key=lambda case: case.values[1].startswith("Delete"),
)
READ_ONLY = ("Describe", "List", "Get")

# Examples per operation: the ones the engine serves get the most; the others are refused
# at routing, so a few show that the refusal is a 4xx.
SCALE = MAX_EXAMPLES / 30


def fuzz_settings(operation: str, served: int) -> settings:
    count = served if operation in SERVED else 3
    return settings(
        max_examples=max(1, round(count * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )


# -- values --------------------------------------------------------------------------------

MAX_DOUBLE = 1.7976931348623157e308
BIG_NUMBERS = (2**31, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**30, 1e30, -1e30, MAX_DOUBLE)
# Deep nesting that still fits the members' length limits (CreateSchema takes 20,000
# characters): a JSON text 5,000 levels deep, and one 512 deep for 1,024-character members.
DEEP_TEXT = "[" * 5000 + "]" * 5000
DEEP_SHORT_TEXT = "[" * 512 + "]" * 512
HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "\u00b2",
    "\ud800",
    "\U0001f600" * 3,
    "null",
    "9" * 5000,
    "x" * 70_000,
    DEEP_TEXT,
    DEEP_SHORT_TEXT,
    "arn:aws:personalize:us-east-1:000000000000:campaign/none",
    "arn:aws:personalize:::",
    "../../etc/passwd",
    "file:///etc/passwd",
    "s3://",
)
# In place of any member of a complete body (`hostile_members`); DEEP stands for a JSON
# array 5,000 levels deep, spliced in when the body is encoded.
DEEP = object()
HOSTILE_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    *BIG_NUMBERS,
    math.nan,
    math.inf,
    "",
    "\u00b2",
    "x" * 70_000,
    DEEP_TEXT,
    [],
    {},
    [None],
    {"": None},
    DEEP,
)
GARBAGE_BODIES = (
    b"",
    b"{",
    b"null",
    b"[]",
    b'"x"',
    b"1e999",
    b"\xff\xfe\x00",
    b"\xef\xbb\xbf{}",
    b'{"a": 1}{"a": 2}',
    b'{"a": NaN}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "{}".encode("utf-16"),
    b"\x00" * 1000,
)
AVRO = json.loads(INTERACTIONS_SCHEMA)
FILTER = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'


def deep_avro(depth: int) -> str:
    """An Avro record whose last field is an array of arrays ... `depth` levels deep."""
    deep = '{"type":"array","items":' * depth + '"string"' + "}" * depth
    fields = json.dumps(AVRO["fields"])[:-1] + f', {{"name": "DEEP", "type": {deep}}}]'
    return json.dumps(dict(AVRO, fields=[])).replace("[]", fields)


def encode(body: Any) -> bytes:
    """JSON as a careless client would send it: NaN and Infinity as is, datetimes as epoch
    seconds, bytes as base64, DEEP as a 5,000-level array."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        if value is DEEP:
            return "\x00DEEP\x00"
        raise TypeError(type(value).__name__)

    text = json.dumps(body, default=default, allow_nan=True)
    return text.replace('"\\u0000DEEP\\u0000"', "[" * 5000 + "]" * 5000).encode()


# -- strategies from shapes ------------------------------------------------------------------

NAME = r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,20}"
ARN_MEMBERS = ("Arn", "Arns", "arn")


@dataclass(frozen=True)
class Pools:
    """Real values by member name: `own` for any operation, `shared` only for reads."""

    own: dict[str, list[Any]]
    shared: dict[str, list[Any]]

    def for_operation(self, operation: str) -> dict[str, list[Any]]:
        if not operation.startswith(READ_ONLY):
            return self.own
        merged = {key: list(values) for key, values in self.own.items()}
        for key, values in self.shared.items():
            merged.setdefault(key, []).extend(values)
        return merged


def pick(values: Any) -> st.SearchStrategy[Any]:
    """sampled_from(values), with a short repr: some values are 10-200 kB long."""
    values = tuple(values)
    return st.sampled_from(range(len(values))).map(values.__getitem__)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(BIG_NUMBERS)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


class ShapeStrategies:
    """Hypothesis strategies for a botocore shape: typed, or `raw` (any JSON anywhere)."""

    def __init__(self, values: dict[str, list[Any]], *, raw: bool) -> None:
        self.values = values
        self.raw = raw
        self.arns = sorted({v for key, vs in values.items() if key.endswith("Arn") for v in vs})

    def of(self, shape: Shape, name: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
        typed = self._typed(shape, name, depth)
        if not self.raw:
            return typed
        extra: list[st.SearchStrategy[Any]] = [json_values]
        if shape.type_name == "timestamp":
            extra.append(st.sampled_from([*BIG_NUMBERS, -1, 1.5, math.nan, "2020-01-01T00:00Z"]))
        return st.one_of(typed, *extra)

    def _typed(self, shape: Shape, name: str, depth: int) -> st.SearchStrategy[Any]:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "structure":
            return self._structure(shape, depth)
        if kind == "list":
            member = self.of(shape.member, name, depth + 1)
            lists = st.lists(member, max_size=min(meta.get("max", 3), 3))
            if meta.get("max", 100) <= 30:  # one past the limit
                over = meta["max"] + 1
                lists = lists | st.lists(member, min_size=over, max_size=over)
            return lists
        if kind == "map":
            return st.dictionaries(
                self._typed(shape.key, name, depth + 1),  # JSON keys are strings
                self.of(shape.value, name, depth + 1),
                max_size=3,
            )
        if kind == "string":
            return self._string(shape, name)
        if kind in ("integer", "long"):
            low, high = meta.get("min"), meta.get("max")
            edges = {0, -1, *BIG_NUMBERS[:6]}
            edges |= {low - 1} if low is not None else set()
            edges |= {high + 1} if high is not None else set()
            in_range = st.integers(
                low if low is not None else -(2**31), high if high is not None else 2**31
            )
            return in_range | st.sampled_from(sorted(edges))
        if kind in ("float", "double"):
            finite = st.floats(allow_nan=False, allow_infinity=False)
            return finite | st.sampled_from([0.0, -0.0, 1e30, -1e30, MAX_DOUBLE])
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.datetimes(
                min_value=datetime.datetime(1970, 1, 2),
                max_value=datetime.datetime(2200, 1, 1),
                timezones=st.just(datetime.UTC),
            ) | st.integers(0, 7_258_118_400)
        if kind == "blob":
            return st.binary(max_size=32)
        raise AssertionError(f"no strategy for {kind} ({shape.name})")

    def _structure(self, shape: Shape, depth: int) -> st.SearchStrategy[dict[str, Any]]:
        if depth > 6:
            return st.just({})
        members = {k: self.of(v, k, depth + 1) for k, v in shape.members.items()}
        required = {k: members[k] for k in shape.required_members if k in members}
        optional = {k: s for k, s in members.items() if k not in required}
        complete = st.fixed_dictionaries(required, optional=optional)
        some_missing = st.fixed_dictionaries({}, optional=members)
        if not self.raw:
            return complete | some_missing
        unknown = st.dictionaries(st.text(max_size=12), json_values, max_size=2)
        return st.builds(lambda known, more: {**more, **known}, complete | some_missing, unknown)

    def _string(self, shape: Shape, name: str) -> st.SearchStrategy[str]:
        meta = shape.metadata
        high = meta.get("max", 256)
        options: list[st.SearchStrategy[str]] = []
        if shape.enum:
            options.append(st.sampled_from(shape.enum))
        if self.values.get(name):
            options.append(pick(self.values[name]))
        if name.endswith(ARN_MEMBERS) and self.arns:
            options.append(st.sampled_from(self.arns))
            options.append(st.from_regex(r"arn:aws:personalize:[a-z0-9-]{0,12}:\d{0,12}:\w+/\w+"))
        if name in ("name", "jobName") or shape.name == "Name":
            options.append(st.from_regex(NAME, fullmatch=True))
        options.append(st.text(max_size=min(high, 40)))
        edges = {"x" * min(high + 1, 70_000), "x" * min(high, 70_000), *HOSTILE_STRINGS}
        options.append(pick(sorted(edges)))
        return st.one_of(options)


def complete_body(
    shape: Shape, values: dict[str, list[Any]], name: str = "", depth: int = 0
) -> Any:
    """A body with every member, from real values where there are some (deterministic)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 4:
            return {}
        return {k: complete_body(v, values, k, depth + 1) for k, v in shape.members.items()}
    if kind == "list":
        return [complete_body(shape.member, values, name, depth + 1)]
    if kind == "map":
        return {"key": complete_body(shape.value, values, name, depth + 1)}
    if kind == "string":
        if values.get(name):
            return values[name][0]
        if shape.enum:
            return shape.enum[0]
        return "fuzz-" + "x" * max(shape.metadata.get("min", 1) - 5, 0)
    if kind in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 1)
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1_600_000_000
    return "eA=="  # blob


def leaf_paths(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member path of `body`: its members, and theirs."""
    if not isinstance(body, dict | list):
        return
    children = body.items() if isinstance(body, dict) else enumerate(body)
    for key, value in children:
        yield (*path, key)
        if isinstance(value, dict | list) and len(path) < 3:
            yield from leaf_paths(value, (*path, key))


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wire:
    """How `operation` travels: method, path and content type, as botocore sends it."""

    method: str
    path: str
    headers: dict[str, str]

    @classmethod
    def of(cls, model: ServiceModel, operation: OperationModel) -> Wire:
        if model.protocol == "json":
            target = f"{model.metadata['targetPrefix']}.{operation.name}"
            headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
            return cls("POST", "/", headers)
        return cls(
            operation.http["method"],
            operation.http["requestUri"],
            {"Content-Type": "application/json"},
        )


def send_signed(
    http: httpx.Client, url: str, method: str, path: str, headers: dict[str, str], body: bytes
) -> httpx.Response:
    signed = signed_headers(f"{url}{path}", body=body, method=method, headers=headers)
    try:
        return http.request(method, f"{url}{path}", content=body, headers=signed)
    except httpx.TransportError as exc:  # a reset or closed connection: the server broke
        raise AssertionError(f"{method} {path}: no answer ({exc!r})") from None


def assert_aws_answer(answer: httpx.Response, what: str) -> None:
    """A success, or a 4xx in AWS's error shape; never a 5xx."""
    shown = f"{what} -> {answer.status_code} {answer.text[:300]}"
    assert answer.status_code < 500, shown
    if answer.status_code < 300:
        if answer.content:
            answer.json()
        return
    assert 400 <= answer.status_code < 500, shown
    error = answer.json()
    assert isinstance(error, dict), shown
    assert answer.headers.get("x-amzn-ErrorType") or error.get("__type"), shown
    assert error.get("message") or error.get("Message"), shown
    if answer.status_code == 405:
        assert answer.headers.get("allow"), f"405 without Allow: {shown}"


def assert_client_answer(call: Callable[[], Any], what: str) -> None:
    try:
        call()
    except ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        code = exc.response["Error"].get("Code")
        assert status < 500 and code, f"{what} -> {status} {exc.response['Error']}"


def shown(body: bytes) -> str:
    return repr(body[:200]) + (f"... ({len(body)} bytes)" if len(body) > 200 else "")


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pools(clients: Clients, small_group: dict[str, str], engine_root: Path) -> Pools:
    """A dataset group of this module's own, every kind of resource in it, plus small_group."""
    p = clients.personalize
    folder = engine_root / "fuzz"
    folder.mkdir(exist_ok=True)
    group = create_group(p, folder)
    dataset = group["INTERACTIONS"]
    described = p.describe_dataset(datasetArn=dataset)["dataset"]
    job = p.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"][0]
    version = train(p, group["group"], "aws-popularity-count")
    solution = p.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    campaign = deploy(p, version)
    tracker = p.create_event_tracker(name=unique("tracker"), datasetGroupArn=group["group"])
    wait_for(
        p.describe_event_tracker, "eventTracker", eventTrackerArn=tracker["eventTrackerArn"]
    )
    filter_arn = p.create_filter(
        name=unique("filter"), datasetGroupArn=group["group"], filterExpression=FILTER
    )["filterArn"]
    wait_for(p.describe_filter, "filter", filterArn=filter_arn)
    csv = folder / "more.csv"
    csv.write_text("USER_ID,ITEM_ID,TIMESTAMP\n" + "u1,i2,1000000001\n" * 1000)
    own: dict[str, list[Any]] = {
        "datasetGroupArn": [group["group"]],
        "datasetArn": [dataset],
        "schemaArn": [described["schemaArn"]],
        "datasetImportJobArn": [job["datasetImportJobArn"]],
        "solutionArn": [solution["solutionArn"]],
        "solutionVersionArn": [version],
        "campaignArn": [campaign],
        "filterArn": [filter_arn],
        "eventTrackerArn": [tracker["eventTrackerArn"]],
        "trackingId": [tracker["trackingId"]],
        "recipeArn": [recipe_arn(r) for r in ("aws-popularity-count", "aws-sims", "aws-hrnn")],
        "roleArn": [ROLE_ARN],
        "dataLocation": [csv.as_uri(), "s3://engine-tests/none.csv"],
        "schema": [json.dumps(AVRO), deep_avro(750), deep_avro(50), DEEP_TEXT],
        "filterExpression": [FILTER, "(" * 2000 + ")" * 2000, 'INCLUDE ItemID WHERE'],
        "properties": ['{"numRatings": 3}', DEEP_SHORT_TEXT],
        "userId": ["u1", "u60", "unknown-user"],
        "itemId": ["i1", "i50", "unknown-item"],
        "inputList": ["i1", "i2", "unknown-item"],
        "sessionId": ["s1"],
        "eventType": ["click", "watch"],
        "datasetType": ["INTERACTIONS", "ITEMS", "USERS"],
    }
    recipes = ("aws-popularity-count", "aws-sims", "aws-user-personalization")
    shared: dict[str, list[Any]] = {
        "datasetGroupArn": [small_group["group"]],
        "datasetArn": [small_group[kind] for kind in ("INTERACTIONS", "ITEMS", "USERS")],
        "campaignArn": [small_group[r] for r in (*recipes, "aws-personalized-ranking")],
        "solutionVersionArn": [small_group[f"{r}:version"] for r in recipes],
    }
    return Pools(own, shared)


@pytest.fixture(scope="module")
def fuzz_clients(engine: RunningServer) -> dict[str, Any]:
    """boto3 clients that send whatever they are given: parameter validation off."""
    kwargs = client_kwargs(engine.url)
    kwargs["config"] = kwargs["config"].merge(Config(parameter_validation=False))
    return {service: boto3.client(service, **kwargs) for service in SERVICES}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


# -- tests ---------------------------------------------------------------------------------------


def test_fuzz_requests_reach_the_operations(
    pools: Pools, engine: RunningServer, http: httpx.Client, fuzz_clients: dict[str, Any]
) -> None:
    """The fuzzing's own requests pass the signature check, or the fuzzing tests nothing."""
    wire = WIRES["/"]
    answer = send_signed(http, engine.url, wire.method, wire.path, wire.headers, b"{}")
    assert answer.status_code == 200, answer.text
    assert fuzz_clients["personalize"].list_recipes()["recipes"]
    campaign = pools.own["campaignArn"][0]
    runtime = fuzz_clients["personalize-runtime"]
    assert runtime.get_recommendations(campaignArn=campaign, userId="u1")["itemList"]


@pytest.mark.parametrize(
    ("service", "operation"), [case for case in CASES if case.values[1] in SERVED]
)
def test_hostile_members(
    service: str, operation: str, pools: Pools, engine: RunningServer, http: httpx.Client
) -> None:
    """Each hostile value in each member of a complete body, one at a time."""
    model = MODELS[service]
    operation_model = model.operation_model(operation)
    wire = Wire.of(model, operation_model)
    base = complete_body(operation_model.input_shape, pools.for_operation(operation))
    failures = []
    for path in leaf_paths(base):
        for value in HOSTILE_VALUES:
            body = encode(replaced(base, path, value))
            answer = send_signed(http, engine.url, wire.method, wire.path, wire.headers, body)
            what = f"{operation} with {'.'.join(map(str, path))}={value!r:.40}: {shown(body)}"
            try:
                assert_aws_answer(answer, what)
            except AssertionError as failure:
                failures.append(str(failure).splitlines()[0])
    assert not failures, f"{len(failures)} failing requests:\n" + "\n".join(failures)


@pytest.mark.parametrize(("service", "operation"), CASES)
def test_typed_requests(
    service: str, operation: str, pools: Pools, fuzz_clients: dict[str, Any]
) -> None:
    """Well-typed members through boto3 (no client-side validation)."""
    model = MODELS[service].operation_model(operation)
    strategies = ShapeStrategies(pools.for_operation(operation), raw=False)
    client = fuzz_clients[service]
    method = getattr(client, botocore.xform_name(operation))

    @fuzz_settings(operation, served=20)
    @given(body=strategies.of(model.input_shape))
    def check(body: dict[str, Any]) -> None:
        assert_client_answer(lambda: method(**body), f"{operation} {body!r:.300}")

    check()


@pytest.mark.parametrize(("service", "operation"), CASES)
def test_raw_requests(
    service: str, operation: str, pools: Pools, engine: RunningServer, http: httpx.Client
) -> None:
    """Any JSON in any member, unknown members, garbage bodies; signed."""
    model = MODELS[service]
    wire = Wire.of(model, model.operation_model(operation))
    strategies = ShapeStrategies(pools.for_operation(operation), raw=True)
    bodies = st.one_of(
        strategies.of(model.operation_model(operation).input_shape).map(encode),
        pick(GARBAGE_BODIES),
    )

    @fuzz_settings(operation, served=20)
    @given(body=bodies, json_type=st.booleans())
    def check(body: bytes, json_type: bool) -> None:
        headers = dict(wire.headers)
        if not json_type:
            headers["Content-Type"] = "text/plain"
        answer = send_signed(http, engine.url, wire.method, wire.path, headers, body)
        assert_aws_answer(answer, f"{wire.method} {wire.path} {operation} {shown(body)}")

    check()


# Each API path once (the control plane's with a served target), for the method checks.
_control = MODELS["personalize"]
WIRES: dict[str, Wire] = {"/": Wire.of(_control, _control.operation_model("ListRecipes"))}
for _model in MODELS.values():
    for _name in _model.operation_names:
        _wire = Wire.of(_model, _model.operation_model(_name))
        WIRES.setdefault(_wire.path, _wire)


@pytest.mark.parametrize("path", sorted(WIRES))
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods(path: str, method: str, engine: RunningServer, http: httpx.Client) -> None:
    """Each API path with a method it does not take: a 4xx (405 with Allow), signed."""
    wire = WIRES[path]
    answer = send_signed(http, engine.url, method, wire.path, wire.headers, b"{}")
    if method == "HEAD":
        assert 400 <= answer.status_code < 500, f"HEAD {wire.path} -> {answer.status_code}"
        return
    assert_aws_answer(answer, f"{method} {wire.path}")


AUTHORIZATIONS = st.one_of(
    st.none(),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
    st.builds(
        "AWS4-HMAC-SHA256 Credential={}/{}/us-east-1/personalize/aws4_request, "
        "SignedHeaders={}, Signature={}".format,
        st.sampled_from(["", "VRAKTESTPAIR0000001", "AKIAUNKNOWN", "A" * 300]),
        st.sampled_from(["20200101", "99999999", "", "2026"]),
        st.sampled_from(["host;x-amz-date", "", "host", ";;;"]),
        st.text(alphabet="0123456789abcdef", max_size=70),
    ),
)


@fuzz_settings("ListRecipes", served=30)
@given(
    authorization=AUTHORIZATIONS,
    date=st.one_of(st.none(), st.sampled_from(["20200101T000000Z", "garbage", ""])),
    path=st.sampled_from(["/", "/recommendations", "/events", "/personalize-ranking"]),
)
def test_bad_signatures(
    authorization: str | None, date: str | None, path: str, engine: RunningServer
) -> None:
    """Unsigned, badly signed and stale requests: refused with a 4xx in AWS's shape."""
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if path == "/":
        headers["X-Amz-Target"] = "AmazonPersonalize.ListRecipes"
    if authorization is not None:
        headers["Authorization"] = authorization
    if date is not None:
        headers["X-Amz-Date"] = date
    answer = httpx.post(f"{engine.url}{path}", content=b"{}", headers=headers, timeout=30)
    assert_aws_answer(answer, f"POST {path} Authorization={authorization!r}")
    assert answer.status_code in (400, 403), answer.text
