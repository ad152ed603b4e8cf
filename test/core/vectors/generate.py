#!/usr/bin/env python3
"""Known-answer vectors for SPEC.md sections 2, 3, 5 and 6, computed by a second
implementation written from SPEC.md alone, in another language, so that a
mistake the service and its own verifier share cannot pass the tests.

    python3 test/core/vectors/generate.py > test/core/vectors/spec-v1.json

Needs Python 3.11 and the `cryptography` package (Ed25519 signatures are
deterministic, RFC 8032, so the signed note is a fixed value too).
Not run by CI: the JSON it wrote is what test/core/spec-vectors.test.ts reads.
"""
import base64
import hashlib
import json
import unicodedata

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def jcs(v) -> str:
    """RFC 8785 for what KeyProof's objects hold: strings, integers, null, objects."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        esc = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
        return '"' + "".join(esc.get(ch, "\\u%04x" % ord(ch) if ord(ch) < 0x20 else ch) for ch in v) + '"'
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


# Unicode's White_Space property (PropList.txt).
WHITE_SPACE = {chr(c) for c in [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]}


def normalize(code: str):
    """SPEC §2; None where the code is rejected. Lengths in code points (docs/protocol-choices.md)."""
    s = "".join(ch for ch in unicodedata.normalize("NFKC", code) if ch not in WHITE_SPACE and ch != "-").upper()
    if not 4 <= len(s) <= 256 or any(unicodedata.category(ch) == "Cc" for ch in s):
        return None
    return s


def bit(k: bytes, i: int) -> int:
    return (k[i // 8] >> (7 - i % 8)) & 1


def map_root(items, depth=0) -> bytes:
    """SPEC §5: empty is 32 zero bytes, one leaf is its mapLeaf, more split on the next bit."""
    if not items:
        return bytes(32)
    if len(items) == 1:
        k, s = items[0]
        return H(b"\x10" + k + s)
    left = [x for x in items if not bit(x[0], depth)]
    right = [x for x in items if bit(x[0], depth)]
    return H(b"\x11" + map_root(left, depth + 1) + map_root(right, depth + 1))


def map_proof(items, key: bytes):
    siblings, here, depth = [], items, 0
    while len(here) > 1:
        siblings.append(map_root([x for x in here if bit(x[0], depth) != bit(key, depth)], depth + 1).hex())
        here = [x for x in here if bit(x[0], depth) == bit(key, depth)]
        depth += 1
    return {"siblings": siblings, "leaf": {"key": here[0][0].hex(), "stateHash": here[0][1].hex()} if here else None}


salt = bytes(range(32))
codes = [
    "ＡＢＣＤ　1234-ef",  # full-width letters, an ideographic space
    "straße\tkey 9",  # ß upper-cases to SS; a tab
    "ﬁve-ﬁve",  # the fi ligature decomposes under NFKC
    "卡密-0001-兑换",
    "\u01c61234",  # dz with caron: NFKC gives two letters
    "a\u200bbcd",  # a zero-width space is not White_Space: kept
    "a\u0085b\u00a0c\u2028d\u3000e",  # all White_Space
    "\U0001d400\U0001d401\U0001d402\U0001d403",  # mathematical bold letters
    "\U0001f600" * 4,  # 4 code points, 8 UTF-16 units
    "\u0131" * 4,  # dotless i upper-cases to I
    "ab-c",  # 3 characters once normalized
    "abc\u0007d",  # a control character
    "x" * 256,
    "x" * 257,
    "-" * 10 + "abc",
]
state = {"status": "sold", "issuer": "acme", "holder": "shop.b_2", "sku": '点卡 ß "q" \\ é', "expires": "2027-12-31T23:59:59.000Z", "events": 3, "head": "ab" * 32, "index": 12}
key0 = H(b"keyproof:v1:key\x00" + salt + normalize(codes[0]).encode()).hex()
event = {"v": 1, "type": "issue", "actor": "acme", "time": "2026-11-24T10:00:00.000Z", "key": key0, "prev": None,
         "attrs": {"sku": "game-100", "face": "100 CNY", "batch": "b-1", "expires": "2027-12-31T23:59:59.000Z"}}
leaves = [(H(bytes([i])), H(b"s" + bytes([i]))) for i in range(5)]
origin = "keyproof.example.com/log"
seed = bytes(range(1, 33))
signer = Ed25519PrivateKey.from_private_bytes(seed)
public = signer.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
key_id = H(origin.encode() + b"\n\x01" + public)[:4]
body = f"{origin}\n316\n{base64.b64encode(H(b'log')).decode()}\nkeyproof-map {base64.b64encode(H(b'map')).decode()}\n"
signature = base64.b64encode(key_id + signer.sign(body.encode())).decode()

print(json.dumps({
    "salt": salt.hex(),
    "normalize": [[c, normalize(c)] for c in codes],
    "keyCommitments": [[c, H(b"keyproof:v1:key\x00" + salt + normalize(c).encode()).hex()] for c in (codes[0], codes[3], codes[8])],
    "orderCommitment": ["订单-2026-0001", H(b"keyproof:v1:order\x00" + salt + "订单-2026-0001".encode()).hex()],
    "state": {"value": state, "jcs": jcs(state), "stateHash": H(jcs(state).encode()).hex()},
    "entry": {"value": event, "jcs": jcs(event), "leafHash": H(b"\x00" + jcs(event).encode()).hex()},
    "map": {
        "leaves": [[k.hex(), s.hex()] for k, s in leaves],
        "roots": [map_root([]).hex(), map_root(leaves[:1]).hex(), map_root(leaves[:2]).hex(), map_root(leaves).hex()],
        "proofs": [[k.hex(), map_proof(leaves, k)] for k in (leaves[2][0], H(b"absent"), H(b"absent-2"))],
    },
    "checkpoint": {
        "origin": origin,
        "seed": seed.hex(),
        "size": 316,
        "logRoot": H(b"log").hex(),
        "mapRoot": H(b"map").hex(),
        "verifierKey": f"{origin}+{key_id.hex()}+{base64.b64encode(bytes([1]) + public).decode()}",
        "note": f"{body}\n\u2014 {origin} {signature}\n",
        "logId": "0x" + H(origin.encode()).hex(),
    },
}, ensure_ascii=True, indent=1))
