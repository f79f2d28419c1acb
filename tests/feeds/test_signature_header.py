"""X-CT-Signature parsing: any value a partner (or anyone) sends is either read or refused with a
401 that says what is wrong; never a 500."""

import hashlib
import hmac
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apps.feeds.models import Feed
from apps.feeds.services import IngestRefused, sign, signature_header_parse, signature_verify
from tests.factories import FeedFactory, event

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DIGEST = "a" * 64
UNICODE_DIGIT = f"t=\N{SUPERSCRIPT TWO},v1={DIGEST}"
HUGE_STAMP = f"t={'9' * 5000},v1={DIGEST}"

# An unsaved feed: a refused header never reaches the database, and no random header can match.
UNSIGNABLE = Feed(slug="fuzz", hmac_secret="fuzz-secret", require_signature=True)

any_text = st.text(max_size=200)
digits = st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=20)  # any script's digits
stamp_like = st.one_of(any_text, digits, st.integers().map(str), st.integers(min_value=10**11).map(str))
header_like = st.one_of(
    any_text,
    st.builds(lambda t, v: f"t={t},v1={v}", stamp_like, st.one_of(any_text, st.just(DIGEST))),
    st.lists(st.sampled_from(["t=", "v1=", ",", "=", " ", "1767268800", DIGEST, "\x00", "²"]), max_size=12).map(
        "".join
    ),
)


def _refusal(header: str) -> IngestRefused:
    with pytest.raises(IngestRefused) as refused:
        signature_verify(feed=UNSIGNABLE, header=header, body=b"{}", at=AT)
    return refused.value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=header_like)
@example(header=UNICODE_DIGIT)
@example(header=HUGE_STAMP)
@example(header=f"t={'9' * 400},v1={DIGEST}")  # int() reads it, float arithmetic overflows
@example(header=f"t=1767268800,v1={'é' * 64}")  # hmac.compare_digest refuses non-ASCII str
def test_no_header_value_raises_anything_but_a_401(header):
    refusal = _refusal(header)
    assert refusal.status == 401
    assert refusal.detail


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (UNICODE_DIGIT, "t must be the Unix time in whole seconds, 1 to 12 ASCII digits"),
        (HUGE_STAMP, "t must be the Unix time in whole seconds, 1 to 12 ASCII digits"),
        ("t=-5,v1=" + DIGEST, "t must be the Unix time"),
        ("t=1767268800", "no v1"),
        ("v1=" + DIGEST, "no t"),
        ("x=1", "no t and v1"),
        ("t=1767268800,v1=abc", "v1 must be the 64 hex digits"),
        ("t=1767268800,v1=" + "g" * 64, "v1 must be the 64 hex digits"),
        ("t=1767268800,t=1767268801,v1=" + DIGEST, "t= given more than once"),
        ("t=1767268800;v1=" + DIGEST, "no v1"),
        ("t=1767268800,junk,v1=" + DIGEST, "every part must be key=value"),
    ],
)
def test_each_malformed_header_is_refused_with_a_reason_the_partner_can_act_on(header, reason):
    refusal = _refusal(header)
    assert refusal.status == 401
    assert refusal.detail.startswith("malformed X-CT-Signature: ")
    assert reason in refusal.detail


@given(body=st.binary(max_size=100), seconds=st.integers(min_value=0, max_value=10**11))
def test_what_sign_makes_reads_back(body, seconds):
    at = datetime.fromtimestamp(seconds, tz=UTC)
    stamp, digest = signature_header_parse(sign(secret="s", body=body, at=at))
    assert int(stamp) == seconds
    assert digest == hmac.new(b"s", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def test_spaces_upper_case_hex_and_unknown_keys_are_read():
    stamp, digest = signature_header_parse(f" t = 1767268800 , v1={'AB' * 32}, v0=old ,")
    assert (stamp, digest) == ("1767268800", "ab" * 32)


@pytest.mark.django_db
@pytest.mark.parametrize("header", [UNICODE_DIGIT, HUGE_STAMP], ids=["unicode-digit", "5000-digits"])
def test_over_http_a_malformed_signature_is_a_401_not_a_500(post_events, header):
    signed = FeedFactory(require_signature=True)
    response = post_events(signed, None, raw=orjson.dumps(event(1)), **{"X-CT-Signature": header})
    assert response.status_code == 401
    assert response.json()["detail"].startswith("malformed X-CT-Signature: t must be the Unix time")
