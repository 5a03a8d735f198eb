"""AWS Signature Version 4 verification for the engine's three APIs.

Every request to the control plane, runtime and events APIs carries an
`Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
header made by the client's SDK. The engine rebuilds the canonical request from the
bytes it received, derives the signing key from the secret it holds for that access key
and compares signatures, as AWS does:

- the credential scope must be `<date>/<the engine's region>/personalize/aws4_request`,
  with the date of `X-Amz-Date` (or `Date`);
- `host` must be among the signed headers, and the payload hash covers the body
  (an `X-Amz-Content-SHA256` header must equal the body's hash; unsigned payloads are
  refused);
- the request time must lie within 15 minutes of the engine's clock.

Refusals use AWS's codes (`MissingAuthenticationTokenException`,
`IncompleteSignatureException`, `UnrecognizedClientException`,
`InvalidSignatureException`); see `AuthError`.

The check comes in two steps: `check_headers` does everything the request line and
headers decide (token present and well-formed, key known, date, scope, skew, `host`
signed) and builds the canonical request but for its payload hash; `check_signature`
hashes the body and compares signatures. Between them the caller reads the body, so an
unsigned or badly signed request is refused before any of its body is read or held.

Why not botocore's `SigV4Auth` as is: it signs its own `AWSRequest` objects, and
building one per request and deriving the key four HMACs deep cost ~30 us, a third of
a whole GetRecommendations answer. The canonical request is therefore assembled here
from the wire bytes in a few lines that follow botocore's rules (path normalisation and
quoting are botocore's own functions), signing keys are cached per (key, date), and
tests/engine/test_sigv4.py checks this against `SigV4Auth.canonical_request` and real
boto3 / aiobotocore clients.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import quote

from botocore.utils import normalize_url_path

try:  # CPython's own SHA-256 (its module is _sha2 from 3.12, _sha256 before)
    from _sha2 import sha256 as _sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha256 import sha256 as _sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:  # a CPython built without its own hashes
        _sha256 = hashlib.sha256

from services.engine.wire.errors import (
    IncompleteSignature,
    InvalidSignature,
    MissingToken,
    UnrecognizedClient,
)

__all__ = ["HeaderCheck", "SigV4Verifier"]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "personalize"  # the signing name of personalize, -runtime and -events alike
MAX_SKEW_SECONDS = 15 * 60
EMPTY_SHA256 = _sha256(b"").hexdigest().encode()
_ALGORITHM_BYTES = ALGORITHM.encode()
_MAX_CACHED = 1024  # bound on each memo below, so odd inputs cannot grow memory
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_PAYLOAD_HASH_MISMATCH = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)


class _HmacSha256:
    """HMAC-SHA256 under one key (RFC 2104), the key's two padded blocks hashed once.

    Why not `hmac`/`hashlib`: they call OpenSSL 3, whose per-call setup (a digest fetched
    and a context allocated for every hash) cost ~10 us a request inside the running
    engine, for ~1 us in a tight loop; CPython's own SHA-256 objects copy a few words
    of state instead. Under wrk the signed engine went from 127 to 117 us of CPU a
    request (`bench.engine`). tests/engine/test_sigv4.py checks it against `hmac`.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # never for SigV4, whose keys are 32-byte digests
            key = _sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = _sha256(bytes(b ^ 0x36 for b in key))
        self._outer = _sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message: bytes) -> bytes:
        return self.finish(self.start(b""), message)

    def start(self, prefix: bytes) -> Any:
        """The inner hash with `prefix` fed: a message's common beginning, hashed once."""
        inner = self._inner.copy()
        inner.update(prefix)
        return inner

    def finish(self, started: Any, rest: bytes) -> bytes:
        """The HMAC, in hex, of the prefix `started` was made with followed by `rest`."""
        inner = started.copy()
        inner.update(rest)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest().encode()


# What `check_headers` found, for `check_signature` to finish with the body: the
# credential, the request time (YYYYMMDDTHHMMSSZ), the signature as sent, a SHA-256 fed
# with the canonical request up to the payload hash that ends it, and
# X-Amz-Content-SHA256 when sent. A plain tuple: built on every request, where a
# NamedTuple's constructor cost ~1 us.
HeaderCheck = tuple["_Credential", bytes, bytes, Any, bytes | None]


class _Credential(NamedTuple):
    """The validated part of an Authorization header before its signature: the same for
    every request a client signs with one key, on one day, with one set of headers."""

    access_key: str
    date: str  # YYYYMMDD of the credential scope
    scope: bytes  # <date>/<region>/personalize/aws4_request
    signed_names: tuple[bytes, ...]
    signed_string: bytes
    signer: _HmacSha256  # keyed with the day's signing key
    # X-Amz-Date -> the HMAC's inner hash fed with the string to sign's first three lines
    # (algorithm, time, scope), the same for every request of that second.
    started: dict[bytes, Any]


def _amz_time(value: str) -> int:
    """Epoch seconds of a `YYYYMMDDTHHMMSSZ` stamp (ValueError if malformed)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not value[:8].isdigit():
        raise ValueError(value)
    digits = value[9:15]
    if not digits.isdigit() or not value.isascii():
        raise ValueError(value)
    return calendar.timegm(
        (int(value[0:4]), int(value[4:6]), int(value[6:8]),
         int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), 0, 0, 0)
    )


def _stamp(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def _parse_authorization(value: str) -> tuple[str, str, str]:
    """(credential, signed headers, signature) of an Authorization header."""
    if not value.startswith(ALGORITHM + " "):
        raise IncompleteSignature(
            f"Authorization header requires the {ALGORITHM} algorithm. "
            "Only Signature Version 4 is supported."
        )
    parts: dict[str, str] = {}
    for item in value[len(ALGORITHM) + 1 :].split(","):
        name, _, content = item.strip().partition("=")
        parts[name] = content
    missing = [p for p in ("Credential", "SignedHeaders", "Signature") if not parts.get(p)]
    if missing:
        raise IncompleteSignature(
            " ".join(f"Authorization header requires '{p}' parameter." for p in missing)
        )
    return parts["Credential"], parts["SignedHeaders"], parts["Signature"]


def canonical_query(query: bytes) -> bytes:
    """botocore's rule for a query already in the URL: pairs sorted, left as encoded."""
    if not query:
        return b""
    pairs = sorted(pair.partition(b"=") for pair in query.split(b"&"))
    return b"&".join(b"%s=%s" % (k, v) for k, _, v in pairs)


@dataclass
class SigV4Verifier:
    """Checks requests against a set of access key pairs for one region."""

    keys: Mapping[str, str]  # access key id -> secret access key
    region: str
    clock: Callable[[], float] = time.time  # replaceable in tests
    _signing_keys: dict[tuple[str, str], _HmacSha256] = field(default_factory=dict, repr=False)
    _paths: dict[bytes, bytes] = field(default_factory=dict, repr=False)
    _credentials: dict[bytes, _Credential] = field(default_factory=dict, repr=False)
    _times: dict[bytes, tuple[int, str]] = field(default_factory=dict, repr=False)
    _heads: dict[tuple[bytes, str, bytes, bytes, tuple[bytes, ...]], Any] = field(
        default_factory=dict, repr=False
    )

    def signer(self, access_key: str, date: str) -> _HmacSha256:
        """The HMAC keyed with kSigning for (key, date), derived once a day per key."""
        cached = self._signing_keys.get((access_key, date))
        if cached is None:
            key = ("AWS4" + self.keys[access_key]).encode()
            for part in (date, self.region, SERVICE, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            if len(self._signing_keys) >= _MAX_CACHED:
                self._signing_keys.clear()
            self._signing_keys[(access_key, date)] = cached = _HmacSha256(key)
        return cached

    def canonical_path(self, raw_path: bytes) -> bytes:
        path = self._paths.get(raw_path)
        if path is None:
            # botocore signs quote(normalize_url_path(path)) of the path as sent.
            path = quote(normalize_url_path(raw_path.decode("latin-1")), safe="/~").encode()
            if len(self._paths) < _MAX_CACHED:
                self._paths[raw_path] = path
        return path

    def request_time(self, amz_date: bytes) -> tuple[int, str]:
        """Epoch seconds and text of an X-Amz-Date value, memoised on its bytes (a client
        sends the same one for a whole second)."""
        stamp = amz_date.decode("latin-1")
        try:
            seconds = _amz_time(stamp)
        except ValueError:
            raise IncompleteSignature(
                f"Date must be in ISO-8601 'basic format'. Got '{stamp}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601"
            ) from None
        if len(self._times) >= _MAX_CACHED:
            self._times.clear()
        self._times[amz_date] = (seconds, stamp)
        return seconds, stamp

    def credential(self, authorization: bytes) -> tuple[_Credential, bytes]:
        """The validated credential and the signature of an Authorization header (an
        `AuthError` if it is malformed, its key unknown or its scope not this engine's).

        Memoised on the header up to `, Signature=`, which a client repeats on every
        request of a day: a hit costs a dict lookup instead of parsing and checking the
        scope again (only headers that passed every check are kept)."""
        head, sep, signature = authorization.rpartition(b", Signature=")
        known = self._credentials.get(head) if sep else None
        if known is not None:
            return known, signature
        credential, signed_string, signature_text = _parse_authorization(
            authorization.decode("latin-1")
        )
        scope = credential.split("/")
        if len(scope) != 5:
            raise IncompleteSignature(
                f"Credential must have exactly 5 slash-delimited elements, e.g. "
                f"keyid/date/region/service/term, got '{credential}'"
            )
        access_key, date, region, service, terminator = scope
        if access_key not in self.keys:
            raise UnrecognizedClient("The security token included in the request is invalid.")
        if region != self.region:
            raise InvalidSignature(
                f"Credential should be scoped to a valid region, not '{region}'. "
                f"This engine's region is '{self.region}'."
            )
        if service != SERVICE:
            raise InvalidSignature(
                f"Credential should be scoped to correct service: '{SERVICE}'. "
            )
        if terminator != "aws4_request":
            raise InvalidSignature(
                f"Credential should be scoped with a valid terminator: 'aws4_request', "
                f"not '{terminator}'."
            )
        signed_names = tuple(name.encode("latin-1") for name in signed_string.split(";"))
        if b"host" not in signed_names:
            raise InvalidSignature(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
            )
        known = _Credential(
            access_key,
            date,
            "/".join(scope[1:]).encode("latin-1"),
            signed_names,
            signed_string.encode("latin-1"),
            self.signer(access_key, date),
            {},
        )
        if sep and signature == signature_text.encode("latin-1"):  # the usual shape
            if len(self._credentials) >= _MAX_CACHED:
                self._credentials.clear()
            self._credentials[head] = known
        return known, signature_text.encode("latin-1")

    def check_headers(
        self,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: Iterable[tuple[bytes, bytes]],
    ) -> HeaderCheck:
        """Every check that needs only the request line and headers (an `AuthError` if one
        fails), so a caller can refuse before reading any of the body; the result goes to
        `check_signature` with the body."""
        raw = headers if isinstance(headers, list) else list(headers)
        by_name = dict(raw)  # bytes -> bytes; a repeated header is joined below
        if len(by_name) != len(raw):
            by_name = _joined(raw)
        authorization = by_name.get(b"authorization")
        if not authorization:
            raise MissingToken("Request is missing Authentication Token")
        credential, signature = self.credential(authorization)

        amz_date = by_name.get(b"x-amz-date")
        if amz_date:
            known_time = self._times.get(amz_date)
            if known_time is None:
                known_time = self.request_time(amz_date)
            seconds, stamp = known_time
        elif by_name.get(b"date"):
            date_header = by_name[b"date"].decode("latin-1")
            try:
                seconds = int(parsedate_to_datetime(date_header).timestamp())
            except (TypeError, ValueError, IndexError):
                raise IncompleteSignature(
                    f"Date must be in RFC 1123 format. Got '{date_header}'."
                ) from None
            stamp = _stamp(seconds)
        else:
            raise IncompleteSignature(
                "Authorization header requires existence of either a 'X-Amz-Date' or a "
                "'Date' header."
            )
        if stamp[:8] != credential.date:
            raise InvalidSignature(
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{credential.date}' != '{stamp[:8]}', from '{stamp}'."
            )
        now = self.clock()
        if seconds < now - MAX_SKEW_SECONDS:
            raise InvalidSignature(
                f"Signature expired: {stamp} is now earlier than "
                f"{_stamp(now - MAX_SKEW_SECONDS)} ({_stamp(now)} - 15 min.)"
            )
        if seconds > now + MAX_SKEW_SECONDS:
            raise InvalidSignature(
                f"Signature not yet current: {stamp} is still later than "
                f"{_stamp(now + MAX_SKEW_SECONDS)} ({_stamp(now)} + 15 min.)"
            )

        declared = by_name.get(b"x-amz-content-sha256")
        # Anything but a SHA-256 in hex (UNSIGNED-PAYLOAD, say) can match no body.
        if declared is not None and len(declared) != 64:
            raise InvalidSignature(_PAYLOAD_HASH_MISMATCH)

        # All of the canonical request but the payload hash, which ends it, hashed: the
        # same for every request a client sends to one operation within one second (the
        # signed headers are typically content-type, host and x-amz-date), so it is
        # memoised on what it is made of and only the payload hash is fed per request.
        values = tuple([by_name.get(name, b"") for name in credential.signed_names])
        key = (credential.signed_string, method, raw_path, query_string, values)
        head_hash = self._heads.get(key)
        if head_hash is None:
            head_hash = _sha256(
                self.canonical_head(method, raw_path, query_string, credential, values)
            )
            if len(self._heads) >= _MAX_CACHED:
                self._heads.clear()
            self._heads[key] = head_hash
        stamp_bytes = amz_date or stamp.encode("latin-1")
        return (credential, stamp_bytes, signature, head_hash, declared)

    def canonical_head(
        self,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        credential: _Credential,
        values: tuple[bytes, ...],
    ) -> bytes:
        """The canonical request up to its payload hash. Lowercase(name) ':' Trimall(value),
        one line per signed header (SigV4's rule), built in bytes as received."""
        lines = b"".join(
            [
                b"%s:%s\n" % (name, b" ".join(value.split()))
                for name, value in zip(credential.signed_names, values, strict=True)
            ]
        )
        return b"%s\n%s\n%s\n%s\n%s\n" % (
            method.encode("latin-1"),
            self.canonical_path(raw_path),
            canonical_query(query_string),
            lines,
            credential.signed_string,
        )

    def check_signature(self, checked: HeaderCheck, body: bytes) -> str:
        """The access key id that signed the request whose headers gave `checked` and whose
        body is `body`; raises an `AuthError` otherwise."""
        credential, stamp, signature, head_hash, declared = checked
        body_hash = _sha256(body).hexdigest().encode() if body else EMPTY_SHA256
        if declared is not None and declared != body_hash:
            raise InvalidSignature(_PAYLOAD_HASH_MISMATCH)
        canonical = head_hash.copy()
        canonical.update(body_hash)
        signer = credential.signer
        started = credential.started.get(stamp)
        if started is None:
            started = signer.start(b"%s\n%s\n%s\n" % (_ALGORITHM_BYTES, stamp, credential.scope))
            if len(credential.started) >= _MAX_CACHED:
                credential.started.clear()
            credential.started[stamp] = started
        if not hmac.compare_digest(
            signer.finish(started, canonical.hexdigest().encode()), signature
        ):
            raise InvalidSignature(_SIGNATURE_MISMATCH)
        return credential.access_key


def _joined(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Headers by name with repeated ones joined by ',' (SigV4's rule for their values)."""
    joined: dict[bytes, list[bytes]] = {}
    for name, value in raw:
        joined.setdefault(name, []).append(b" ".join(value.split()))
    return {name: b",".join(values) for name, values in joined.items()}
