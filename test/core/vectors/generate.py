#!/usr/bin/env python3
"""Known-answer vectors for SPEC.md sections 2 to 6 and 9, computed by a second
implementation written from SPEC.md alone, in another language, so that a
mistake the service and its own verifier share cannot pass the tests.

    python3 test/core/vectors/generate.py > test/core/vectors/spec-v1.json

Needs Python 3.11 and the `cryptography` package to sign (Ed25519 signatures
are deterministic, RFC 8032, so the signed note is a fixed value too); the
formulas are spec.py's, which live_check.py uses too.
Not run by CI: the JSON it wrote is what test/core/spec-vectors.test.ts reads.
"""
import base64
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spec import H, inclusion, jcs, map_proof, map_root, mth, normalize


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
    "ab\ud800cd",  # a lone surrogate: no UTF-8 form, so no commitment
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



# A whole log of seven entries, its map and a bundle for one key (SPEC §3, §4, §5, §9):
# what the service's verifier must accept from any implementation of the protocol.
def commit(code: str, key_salt: bytes) -> str:
    return H(b"keyproof:v1:key\x00" + key_salt + normalize(code).encode()).hex()


code, order = "GAME-7777-ALPHA", "ORD-1"
salts = [H(b"salt" + bytes([i])) for i in range(3)]
keys = [commit(c, salts[i]) for i, c in enumerate([code, "GIFT-0001-BETA", "GIFT-0002-GAMMA"])]
log_entries, states, heads = [], {}, {}


def append(actor: str, kind: str, attrs: dict, key=None) -> None:
    event = {"v": 1, "type": kind, "actor": actor, "time": f"2026-11-24T10:00:0{len(log_entries)}.000Z", "attrs": attrs}
    if key is not None:
        event["key"], event["prev"] = key, heads.get(key)
    entry = jcs(event)
    leaf = H(b"\x00" + entry.encode()).hex()
    log_entries.append(entry)
    if key is None:
        return
    s = states.setdefault(key, {"status": "issued", "issuer": actor, "holder": actor, "sku": attrs.get("sku"), "events": 0})
    if "expires" in attrs:
        s["expires"] = attrs["expires"]
    s["holder"] = attrs.get("to", s["holder"])
    s["status"] = {"sell": "sold", "redeem": "redeemed", "void": "void"}.get(kind, s["status"])
    s["events"] += 1
    s["head"], s["index"] = leaf, len(log_entries) - 1
    heads[key] = leaf


append("operator", "participant", {"id": "acme", "role": "issuer", "name": "Acme 游戏卡"})
append("operator", "participant", {"id": "shop-a", "role": "seller", "name": "Shop A 卡盟"})
append("acme", "issue", {"sku": "game-100", "face": "100 CNY", "expires": "2099-12-31T23:59:59.000Z"}, keys[0])
append("acme", "issue", {"sku": "gift-50"}, keys[1])
append("acme", "transfer", {"to": "shop-a"}, keys[0])
append("shop-a", "sell", {"order": H(b"keyproof:v1:order\x00" + salts[0] + order.encode()).hex()}, keys[0])
append("acme", "issue", {"sku": "gift-50"}, keys[2])
log_leaves = [H(b"\x00" + e.encode()) for e in log_entries]
map_items = [(bytes.fromhex(k), H(jcs(st).encode())) for k, st in states.items()]
bundle_body = f"{origin}\n{len(log_entries)}\n{base64.b64encode(mth(log_leaves)).decode()}\nkeyproof-map {base64.b64encode(map_root(map_items)).decode()}\n"
bundle_note = f"{bundle_body}\n\u2014 {origin} {base64.b64encode(key_id + signer.sign(bundle_body.encode())).decode()}\n"
verifier_key = f"{origin}+{key_id.hex()}+{base64.b64encode(bytes([1]) + public).decode()}"
bundle = {
    "type": "keyproof/bundle/v1",
    "log": {"origin": origin, "verifierKey": verifier_key, "logId": "0x" + H(origin.encode()).hex(), "chainId": None, "contract": None},
    "checkpoint": bundle_note,
    "key": {"commitment": keys[0], "salt": salts[0].hex()},
    "state": states[keys[0]],
    "mapProof": map_proof(map_items, bytes.fromhex(keys[0])),
    "events": [{"index": i, "entry": log_entries[i], "inclusion": [h.hex() for h in inclusion(i, log_leaves)]} for i in (2, 4, 5)],
    "anchor": None,
}

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
        "verifierKey": verifier_key,
        "note": f"{body}\n\u2014 {origin} {signature}\n",
        "logId": "0x" + H(origin.encode()).hex(),
    },
    "bundle": {"code": code, "order": order, "value": bundle},
}, ensure_ascii=True, indent=1))
