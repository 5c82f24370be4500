"""RFC 9421 HTTP message signatures: known answers from the RFC, and one test per attack."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import (
    CryptoError,
    InputTooLarge,
    MalformedInput,
    NotFresh,
    ReplayDetected,
    SignatureInvalid,
    UnknownKey,
    UnsupportedAlgorithm,
)
from crypto.httpsig import (
    HttpRequestParts,
    HttpResponseParts,
    InMemoryNonceStore,
    content_digest,
    sign_request,
    sign_response,
    signature_base,
    verify_content_digest,
    verify_request,
    verify_response,
)
from crypto.signing import SigningKey

VECTORS = json.loads(
    (
        Path(__file__).resolve().parents[3]
        / "shared"
        / "vectors"
        / "rfc9421"
        / "rfc9421-appendix-b.json"
    ).read_text()
)
NOW = 1_764_374_400
ORIGIN = "https://sy.example:8443"
KEY = SigningKey(bytes(range(32)), bytes(32))
OTHER_KEY = SigningKey(bytes(range(1, 33)), bytes(32))
KEYID = "sig-iq"
REQUEST_REF = (
    '("@method" "@target-uri" "content-type" "content-digest")'  # the profile, for hand signing
)


def resolve(keyid: str) -> bytes:
    if keyid == KEYID:
        return KEY.public.ed25519
    raise UnknownKey(f"no pinned key {keyid!r}")


def with_headers(message, extra):
    return replace(message, headers={**message.headers, **{k.lower(): v for k, v in extra.items()}})


def without_header(message, name):
    return replace(message, headers={k: v for k, v in message.headers.items() if k != name})


def plain_request(path="/v1/deliveries", body=b'{"a": 1}', method="POST"):
    return HttpRequestParts(method, ORIGIN + path, {"Content-Type": "application/json"}, body)


def signed_request(request=None, *, key=KEY, keyid=KEYID, now=NOW, **kwargs):
    request = request or plain_request()
    return with_headers(request, sign_request(request, key=key, keyid=keyid, now=now, **kwargs))


def verify(request, *, store=None, now=NOW, resolve_key=resolve, **kwargs):
    store = store if store is not None else InMemoryNonceStore(lambda: now)
    return verify_request(request, resolve_key=resolve_key, nonce_store=store, now=now, **kwargs)


def params(**overrides):
    """Serialized signature parameters of the request profile; None removes one."""
    values = {
        "created": str(NOW),
        "expires": str(NOW + 60),
        "nonce": '"n-1"',
        "keyid": f'"{KEYID}"',
        "alg": '"ed25519"',
        "tag": '"liaison-v1"',
    }
    values.update(overrides)
    return "".join(f";{k}={v}" for k, v in values.items() if v is not None)


def hand_signed(components=REQUEST_REF, param_text=None, *, request=None, sign=None):
    """A request signed through the general builder: valid signatures that break the profile."""
    request = request or plain_request()
    request = with_headers(request, {"Content-Digest": content_digest(request.body)})
    param_text = params() if param_text is None else param_text
    names = components[1 : components.index(")")].split(" ") if components != "()" else []
    base = signature_base(names, param_text, request)
    signature = (sign or KEY.sign_ed25519)(base)
    return with_headers(
        request,
        {
            "Signature-Input": f"sig1={components}{param_text}",
            "Signature": f"sig1=:{base64.b64encode(signature).decode()}:",
        },
    )


class SpyStore:
    def __init__(self):
        self.calls = []

    def remember(self, keyid, nonce, expires_at):
        self.calls.append((keyid, nonce, expires_at))
        return True


# --- Known answers: RFC 9421 Appendix B, RFC 9530 -----------------------------------------------


def vector_request():
    t = VECTORS["test_request"]
    return HttpRequestParts(t["method"], t["url"], dict(t["headers"]), t["body"].encode())


def vector_case(case_id):
    case = next(c for c in VECTORS["cases"] if c["id"] == case_id)
    label, member = case["signature_input"].split("=", 1)
    close = member.index(")")
    return case, label, member[1:close].split(" "), member[close + 1 :]


def test_b26_ed25519_known_answer():
    case, label, components, param_text = vector_case("B.2.6")
    base = signature_base(components, param_text, vector_request())
    assert base.decode() == case["signature_base"]
    # The last line of the base is the Signature-Input member, serialized by our code.
    assert f"{label}={base.decode().rsplit(': ', 1)[1]}" == case["signature_input"]

    pem = VECTORS["keys"]["test-key-ed25519"]
    private = serialization.load_pem_private_key(pem["private_pkcs8_pem"].encode(), None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    key = SigningKey(private.private_bytes_raw(), bytes(32))  # the ML-DSA half is unused here
    signature = key.sign_ed25519(base)  # Ed25519 is deterministic: byte-for-byte equal
    assert f"{label}=:{base64.b64encode(signature).decode()}:" == case["signature"]
    public = serialization.load_pem_public_key(pem["public_spki_pem"].encode())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    assert public.public_bytes_raw() == key.public.ed25519


def test_b25_hmac_known_answer():
    case, label, components, param_text = vector_case("B.2.5")
    base = signature_base(components, param_text, vector_request())
    assert base.decode() == case["signature_base"]
    secret = base64.b64decode(VECTORS["keys"]["test-shared-secret"]["secret_base64"])
    mac = hmac.new(secret, base, hashlib.sha256).digest()
    assert f"{label}=:{base64.b64encode(mac).decode()}:" == case["signature"]


def test_content_digest_known_answers():
    body = b'{"hello": "world"}'
    # RFC 9530 section 2, and the sha-512 digest of the RFC 9421 test request.
    assert content_digest(body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    verify_content_digest(dict(VECTORS["test_request"]["headers"])["Content-Digest"], body)
    verify_content_digest(
        "md5=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", body
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, MalformedInput),
        ("", MalformedInput),
        ("sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE", MalformedInput),
        ("md5=:AAAAAAAAAAAAAAAAAAAAAA==:", MalformedInput),  # unsupported algorithms only
        ("sha-256=:AAAA:", MalformedInput),  # wrong length
        ("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;x", MalformedInput),
        ("sha-256=:" + base64.b64encode(bytes(32)).decode() + ":", SignatureInvalid),
        (
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:"
            + base64.b64encode(bytes(64)).decode()
            + ":",
            SignatureInvalid,  # every recognised digest must match, not just one
        ),
    ],
)
def test_content_digest_refusals(value, error):
    with pytest.raises(error):
        verify_content_digest(value, b'{"hello": "world"}')


# --- The general builder ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # RFC 9421 section 2.2 examples
        (
            "https://www.example.com/path?param=value",
            {
                "@authority": "www.example.com",
                "@scheme": "https",
                "@request-target": "/path?param=value",
                "@path": "/path",
                "@query": "?param=value",
            },
        ),
        (
            "https://WWW.Example.com:443",
            {"@authority": "www.example.com", "@path": "/", "@query": "?", "@request-target": "/"},
        ),
        ("http://example.com:8080/a", {"@authority": "example.com:8080", "@scheme": "http"}),
        ("https://[2001:DB8::1]:8443/x", {"@authority": "[2001:db8::1]:8443"}),
    ],
)
def test_derived_components(uri, expected):
    request = HttpRequestParts("GET", uri, {}, b"")
    for name, value in expected.items():
        base = signature_base([f'"{name}"'], "", request).decode()
        assert base.split("\n")[0] == f'"{name}": {value}'


@pytest.mark.parametrize(
    ("components", "headers", "uri"),
    [
        (['"@status"'], {}, "https://a.example/"),  # @status is response-only
        (['"@method";req'], {}, "https://a.example/"),  # ;req outside a response
        (['"@foo"'], {}, "https://a.example/"),
        (['"@method"', '"@method"'], {}, "https://a.example/"),
        (['"x-missing"'], {}, "https://a.example/"),
        (['"X-Upper"'], {"x-upper": "1"}, "https://a.example/"),
        (['"x-a";bs'], {"x-a": "1"}, "https://a.example/"),
        (['"x-a";key="b"'], {"x-a": "1"}, "https://a.example/"),  # not a dictionary
        (['"x-a"'], {"x-a": '1\n"@method": GET'}, "https://a.example/"),  # line injection
        (['"x-a"'], {"x-a": "caf\u00e9"}, "https://a.example/"),
        (["@method"], {}, "https://a.example/"),  # identifiers are serialized strings
        (['"@authority"'], {}, "https://user@a.example/"),
        (['"@authority"'], {}, "https://[::1/"),
        (['"@path"'], {}, "/relative"),
        (['"@target-uri"'], {}, "https://a.example/#frag"),
        (['"@target-uri"'], {}, "https://a.example/\tx"),  # urlsplit would drop the tab
    ],
)
def test_signature_base_refusals(components, headers, uri):
    with pytest.raises(MalformedInput):
        signature_base(components, ";created=1", HttpRequestParts("GET", uri, headers, b""))


def test_headers_are_case_insensitive_and_unambiguous():
    request = HttpRequestParts("GET", "https://a.example/", {"X-A": " v "}, b"")
    assert signature_base(['"x-a"'], "", request).split(b"\n")[0] == b'"x-a": v'
    with pytest.raises(MalformedInput):
        HttpRequestParts("GET", "https://a.example/", {"X-A": "1", "x-a": "2"}, b"")


# --- Request round trip -------------------------------------------------------------------------


def test_request_round_trip():
    request = signed_request(nonce="n-1")
    store = SpyStore()
    verified = verify(request, store=store)
    assert (verified.keyid, verified.created, verified.expires, verified.nonce) == (
        KEYID,
        NOW,
        NOW + 60,
        "n-1",
    )
    assert verified.signature_input == request.headers["signature-input"].removeprefix("sig1=")
    assert verified.signature_input == (
        f'{REQUEST_REF};created={NOW};expires={NOW + 60};nonce="n-1";keyid="{KEYID}";'
        'alg="ed25519";tag="liaison-v1"'
    )
    # The nonce is kept at least as long as the signature could pass the freshness checks.
    assert store.calls == [(KEYID, "n-1", NOW + 300 + 30)]


def test_default_nonce_is_random_128_bits():
    nonces = {verify(signed_request()).nonce for _ in range(3)}
    assert len(nonces) == 3
    assert all(len(n) == 22 for n in nonces)  # 16 bytes in unpadded base64url


def test_signing_requires_content_type():
    request = HttpRequestParts("POST", ORIGIN + "/", {}, b"")
    with pytest.raises(ValueError, match="content-type"):
        sign_request(request, key=KEY, keyid=KEYID, now=NOW)


# --- Attacks on requests ------------------------------------------------------------------------


def test_replayed_nonce_is_refused():
    request = signed_request()
    store = InMemoryNonceStore(lambda: NOW)
    verify(request, store=store)
    with pytest.raises(ReplayDetected):
        verify(request, store=store)
    # Later, when the store may have forgotten it, the freshness checks refuse it instead.
    later = InMemoryNonceStore(lambda: NOW + 61)
    with pytest.raises(NotFresh):
        verify(request, store=later, now=NOW + 61)


@pytest.mark.parametrize(
    "forge",
    [
        lambda r: signed_request(key=OTHER_KEY),  # wrong key
        lambda r: with_headers(r, {"Content-Type": "text/plain"}),
        lambda r: replace(r, body=b'{"a": 2}'),  # digest mismatch
    ],
)
def test_failed_verification_does_not_write_the_store(forge):
    store = SpyStore()
    with pytest.raises(SignatureInvalid):
        verify(forge(signed_request()), store=store)
    assert store.calls == []


def test_tampered_body_is_refused():
    request = signed_request()
    with pytest.raises(SignatureInvalid, match="Content-Digest"):
        verify(replace(request, body=b'{"a": 2}'))
    # Recomputing the digest moves the failure to the signature, which covers the digest.
    tampered = with_headers(
        replace(request, body=b'{"a": 2}'), {"Content-Digest": content_digest(b'{"a": 2}')}
    )
    with pytest.raises(SignatureInvalid, match="signature"):
        verify(tampered)


def test_tampered_method_is_refused():
    with pytest.raises(SignatureInvalid):
        verify(replace(signed_request(), method="PUT"))


@pytest.mark.parametrize(
    "uri",
    [
        ORIGIN + "/v1/other",
        ORIGIN + "/v1/deliveries?x=1",
        "https://jo.example:8443/v1/deliveries",
        "https://sy.example:9443/v1/deliveries",
        "http://sy.example:8443/v1/deliveries",
    ],
)
def test_tampered_target_uri_is_refused(uri):
    with pytest.raises(SignatureInvalid):
        verify(replace(signed_request(), target_uri=uri))


@pytest.mark.parametrize("header", ["content-type", "content-digest"])
def test_removed_covered_header_is_refused(header):
    with pytest.raises(MalformedInput):
        verify(without_header(signed_request(), header))


@pytest.mark.parametrize(
    "components",
    [
        '("@method" "@target-uri" "content-type")',  # digest not covered: body unprotected
        '("@method" "content-type" "content-digest")',  # target not covered
        '("@target-uri" "@method" "content-type" "content-digest")',  # reordered
        '("@method" "@target-uri" "content-type" "content-digest" "content-length")',
        "()",
    ],
)
def test_profile_components_are_required(components):
    request = with_headers(plain_request(), {"Content-Length": "8"})
    with pytest.raises(MalformedInput, match="profile"):
        verify(hand_signed(components, request=request))


def test_removing_a_component_from_the_sent_input_is_refused():
    request = signed_request()
    edited = request.headers["signature-input"].replace(' "content-digest"', "")
    with pytest.raises(MalformedInput):
        verify(with_headers(request, {"Signature-Input": edited}))


def test_wrong_key_is_refused():
    with pytest.raises(SignatureInvalid):
        verify(signed_request(key=OTHER_KEY))


def test_unknown_keyid_is_refused():
    with pytest.raises(UnknownKey):
        verify(signed_request(keyid="sig-jo"))
    with pytest.raises(UnknownKey):
        verify(signed_request(), resolve_key=lambda keyid: b"\x01" * 31)


@pytest.mark.parametrize(
    ("signed_at", "ttl", "message"),
    [
        (NOW - 301, 60, "ago, over"),  # stale
        (NOW + 31, 60, "in the future"),
        (NOW - 61, 60, "expired"),
        (NOW, 301, "valid for"),  # a signature meant to live too long
    ],
)
def test_freshness_is_enforced(signed_at, ttl, message):
    with pytest.raises(NotFresh, match=message):
        verify(signed_request(now=signed_at, ttl=ttl))


@pytest.mark.parametrize(("signed_at", "ttl"), [(NOW + 30, 60), (NOW - 60, 60), (NOW - 10, 300)])
def test_freshness_boundaries_are_accepted(signed_at, ttl):
    verify(signed_request(now=signed_at, ttl=ttl))


def test_alg_substitution_is_refused():
    public = KEY.public.ed25519
    hmac_forgery = lambda base: hmac.new(public, base, hashlib.sha512).digest()  # noqa: E731
    for alg in ('"hmac-sha256"', '"rsa-pss-sha512"', "ed25519"):  # the last is a token
        with pytest.raises(UnsupportedAlgorithm):
            verify(hand_signed(param_text=params(alg=alg), sign=hmac_forgery))
    # Without alg the pinned key decides: the forgery is just a bad Ed25519 signature.
    with pytest.raises(SignatureInvalid):
        verify(hand_signed(param_text=params(alg=None), sign=hmac_forgery))
    verify(hand_signed(param_text=params(alg=None)))  # alg is optional


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"tag": None}, MalformedInput),
        ({"tag": '"liaison-v2"'}, UnsupportedAlgorithm),
        ({"tag": '"liaison-v1-response"'}, UnsupportedAlgorithm),
        ({"nonce": None}, MalformedInput),
        ({"nonce": '""'}, MalformedInput),
        ({"nonce": '"' + "n" * 257 + '"'}, MalformedInput),
        ({"keyid": None}, MalformedInput),
        ({"created": None}, MalformedInput),
        ({"expires": None}, MalformedInput),
        ({"created": f'"{NOW}"'}, MalformedInput),
        ({"created": "?1"}, MalformedInput),
        ({"expires": str(NOW - 1)}, MalformedInput),  # before created
        ({"foo": "1"}, MalformedInput),
    ],
)
def test_signature_parameters_are_checked(overrides, error):
    with pytest.raises(error):
        verify(hand_signed(param_text=params(**overrides)))


def _valid_signature():
    return signed_request().headers["signature"].removeprefix("sig1=")


def _noncanonical_signature():
    text = _valid_signature()[1:-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    flipped = alphabet[alphabet.index(text[-3]) ^ 1]  # a pad bit: same bytes, other spelling
    return f":{text[:-3]}{flipped}==:"


@pytest.mark.parametrize(
    ("header", "value", "error"),
    [
        ("signature-input", None, MalformedInput),
        ("signature-input", "", MalformedInput),
        ("signature-input", "sig2=" + REQUEST_REF, MalformedInput),
        ("signature-input", 'sig1=("@method" "@target-uri"', MalformedInput),
        ("signature-input", "sig1=:AAAA:", MalformedInput),
        ("signature-input", "sig1=(method)", MalformedInput),
        ("signature-input", 'sig1=("@m\u00e9thod")', MalformedInput),
        ("signature-input", "sig1=" + "a" * 9000, InputTooLarge),
        ("signature-input", "{valid},", MalformedInput),  # trailing comma
        ("signature-input", "{valid}, {valid}", MalformedInput),  # duplicate label
        ("signature-input", "{valid};created=1", MalformedInput),  # duplicate parameter
        ("signature-input", "{valid};x=1.5", MalformedInput),  # decimals are not accepted
        ("signature-input", "{valid} junk", MalformedInput),
        ("signature", None, MalformedInput),
        ("signature", "sig1=:abc:", MalformedInput),
        ("signature", "sig1=:" + base64.b64encode(bytes(63)).decode() + ":", MalformedInput),
        ("signature", "sig1={sig_unpadded}", MalformedInput),
        ("signature", "sig1={sig_noncanonical}", MalformedInput),
        ("signature", 'sig1="AAAA"', MalformedInput),
        ("signature", "sig1={sig};x", MalformedInput),
        ("signature", "sig2={sig}", MalformedInput),
    ],
)
def test_malformed_signature_headers_are_refused(header, value, error):
    request = signed_request()
    if value is None:
        request = without_header(request, header)
    else:
        value = value.format(
            valid=request.headers[header],
            sig=_valid_signature(),
            sig_unpadded=_valid_signature().replace("=", "") + ":",
            sig_noncanonical=_noncanonical_signature(),
        )
        request = with_headers(request, {header: value})
    with pytest.raises(error):
        verify(request)


def test_other_signature_labels_are_ignored():
    request = signed_request()
    verify(
        with_headers(
            request,
            {
                "Signature-Input": request.headers["signature-input"] + ', proxy=("@method")',
                "Signature": request.headers["signature"] + ", proxy=:AAAA:",
            },
        )
    )


@given(st.text(max_size=200))
def test_arbitrary_signature_input_raises_only_crypto_errors(text):
    request = signed_request(nonce="n-1")
    for header in ("Signature-Input", "Signature"):
        with contextlib.suppress(CryptoError):
            verify(with_headers(request, {header: text}))


@given(st.text(max_size=60))
def test_arbitrary_target_uri_raises_only_malformed_input(uri):
    with contextlib.suppress(MalformedInput):
        signature_base(['"@authority"', '"@path"'], "", HttpRequestParts("GET", uri, {}, b""))


def test_in_memory_store_forgets_only_after_expiry():
    clock = [NOW]
    store = InMemoryNonceStore(lambda: clock[0])
    assert store.remember(KEYID, "n", NOW + 10)
    assert not store.remember(KEYID, "n", NOW + 10)
    assert store.remember("sig-other", "n", NOW + 10)  # nonces are per key
    clock[0] = NOW + 10
    assert not store.remember(KEYID, "n", NOW + 20)
    clock[0] = NOW + 11
    assert store.remember(KEYID, "n", NOW + 21)
    assert len(store) == 1


# --- Responses ----------------------------------------------------------------------------------


def plain_response(status=200, body=b'{"receipt": 1}'):
    return HttpResponseParts(status, {"Content-Type": "application/json"}, body)


def signed_response(request, response=None, *, now=NOW, **kwargs):
    response = response or plain_response()
    headers = sign_response(response, request, key=KEY, keyid=KEYID, now=now, **kwargs)
    return with_headers(response, headers)


def test_response_round_trip():
    request = signed_request()
    verified_request = verify(request)
    response = signed_response(request)
    verified = verify_response(response, request, resolve_key=resolve, now=NOW + 1)
    assert (verified.keyid, verified.created, verified.expires) == (KEYID, NOW, NOW + 60)
    assert verified.signature_input == (
        '("@status" "content-type" "content-digest" "@method";req "@target-uri";req '
        '"signature-input";req;key="sig1" "signature";req;key="sig1")'
        f';created={NOW};expires={NOW + 60};keyid="{KEYID}";alg="ed25519";tag="liaison-v1-response"'
    )
    # The base binds the request's signature input, so a stored receipt names the request.
    base = signature_base(
        verified.signature_input[1 : verified.signature_input.index(")")].split(" "),
        verified.signature_input[verified.signature_input.index(")") + 1 :],
        request,
        response,
    )
    assert f'"signature-input";req;key="sig1": {verified_request.signature_input}'.encode() in base


def test_response_replayed_onto_another_request_is_refused():
    first, second = signed_request(), signed_request()  # same call, fresh nonce
    response = signed_response(first)
    with pytest.raises(SignatureInvalid):
        verify_response(response, second, resolve_key=resolve, now=NOW)
    other_path = signed_request(plain_request("/v1/other"))
    with pytest.raises(SignatureInvalid):
        verify_response(response, other_path, resolve_key=resolve, now=NOW)
    with pytest.raises(MalformedInput):  # the request as sent must carry its signature
        verify_response(response, plain_request(), resolve_key=resolve, now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: replace(r, status=500),
        lambda r: replace(r, body=b'{"receipt": 2}'),
        lambda r: with_headers(r, {"Content-Type": "text/plain"}),
    ],
)
def test_tampered_response_is_refused(tamper):
    request = signed_request()
    with pytest.raises(SignatureInvalid):
        verify_response(tamper(signed_response(request)), request, resolve_key=resolve, now=NOW)


def test_response_freshness_and_key():
    request = signed_request()
    with pytest.raises(NotFresh):
        verify_response(
            signed_response(request, now=NOW - 61), request, resolve_key=resolve, now=NOW
        )
    with pytest.raises(UnknownKey):
        verify_response(
            signed_response(request), request, resolve_key=lambda k: resolve("x"), now=NOW
        )


def test_request_and_response_signatures_do_not_substitute():
    request = signed_request()
    response = signed_response(request)
    # A response signature presented on a request, and a request signature on a response.
    moved = {k: response.headers[k] for k in ("signature-input", "signature")}
    with pytest.raises(MalformedInput, match="profile"):
        verify(with_headers(request, moved))
    moved = {k: request.headers[k] for k in ("signature-input", "signature")}
    with pytest.raises(MalformedInput, match="profile"):
        verify_response(with_headers(response, moved), request, resolve_key=resolve, now=NOW)


def test_signing_a_response_needs_a_signed_request():
    with pytest.raises(ValueError, match="cannot sign"):
        sign_response(plain_response(), plain_request(), key=KEY, keyid=KEYID, now=NOW)
