"""SPEC.md's formulas, written a second time from SPEC.md alone, in Python: the
known-answer generator (generate.py) and the live checker (live_check.py) both
use them, so that a mistake the service and its own TypeScript verifier share
cannot pass the tests. Standard library only.
"""
import base64
import hashlib
import json
import unicodedata


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
    """SPEC §2; None where the code is rejected. Lengths in code points, and only
    well-formed text, which has a UTF-8 form (docs/protocol-choices.md)."""
    s = "".join(ch for ch in unicodedata.normalize("NFKC", code) if ch not in WHITE_SPACE and ch != "-").upper()
    if not 4 <= len(s) <= 256 or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in s):
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


def mth(leaves) -> bytes:
    """RFC 9162 2.1.1 over leaf hashes."""
    if not leaves:
        return H(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while 2 * k < len(leaves):
        k *= 2
    return H(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def inclusion(m: int, leaves) -> list:
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = 1
    while 2 * k < len(leaves):
        k *= 2
    if m < k:
        return inclusion(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion(m - k, leaves[k:]) + [mth(leaves[:k])]


def _shift_until_odd(fn: int, sn: int):
    """RFC 9162's "right-shift both fn and sn equally until either LSB(fn) is set or fn is 0"."""
    while not fn & 1 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list, root: bytes) -> bool:
    """RFC 9162 2.1.3.2 (every hash 32 bytes)."""
    if index >= size or any(len(h) != 32 for h in (leaf, root, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = H(b"\x01" + p + r)
            fn, sn = _shift_until_odd(fn, sn)
        else:
            r = H(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, proof: list) -> bool:
    """RFC 9162 2.1.4.2 (every hash 32 bytes; from size 0 there is nothing to be consistent with)."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if not proof or any(len(h) != 32 for h in (first_hash, second_hash, *proof)):
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = H(b"\x01" + c + fr), H(b"\x01" + c + sr)
            fn, sn = _shift_until_odd(fn, sn)
        else:
            sr = H(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_hash and sr == second_hash and sn == 0


def map_proof_root(key: bytes, proof: dict) -> bytes:
    """SPEC §5: the root a map proof for `key` leads to."""
    leaf = proof["leaf"]
    h = H(b"\x10" + bytes.fromhex(leaf["key"]) + bytes.fromhex(leaf["stateHash"])) if leaf else bytes(32)
    for i in range(len(proof["siblings"]) - 1, -1, -1):
        s = bytes.fromhex(proof["siblings"][i])
        h = H(b"\x11" + s + h) if bit(key, i) else H(b"\x11" + h + s)
    return h


def map_proves(key: bytes, proof: dict, root: bytes, state_hash) -> bool:
    """Membership of (key, state_hash), or absence where state_hash is None."""
    if len(proof["siblings"]) > 256 or map_proof_root(key, proof) != root:
        return False
    leaf = proof["leaf"]
    if state_hash is not None:
        return leaf is not None and leaf["key"] == key.hex() and leaf["stateHash"] == state_hash.hex()
    if leaf is None:
        return True
    other, n = bytes.fromhex(leaf["key"]), len(proof["siblings"])
    return other != key and all(bit(other, i) == bit(key, i) for i in range(n))


def key_commitment(salt: bytes, code: str) -> str:
    return H(b"keyproof:v1:key\x00" + salt + normalize(code).encode()).hex()


def order_commitment(salt: bytes, order: str) -> str:
    return H(b"keyproof:v1:order\x00" + salt + order.encode()).hex()


# Ed25519 verification (RFC 8032 5.1.7), for the signed notes of SPEC §6.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    """Extended twisted Edwards coordinates (X, Y, Z, T), a = -1."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    cc, dd = 2 * D * t1 * t2 % P, 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(k: int, a):
    out = (0, 1, 1, 0)
    while k:
        if k & 1:
            out = _add(out, a)
        a, k = _add(a, a), k >> 1
    return out


def _same(a, b) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _decode(s: bytes):
    """A point from its 32-byte encoding, or None."""
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    elif v * x * x % P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


_BY = 4 * pow(5, P - 2, P) % P
BASE = _decode(_BY.to_bytes(32, "little"))


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    a, r = _decode(public), _decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _same(_mul(s, BASE), _add(r, _mul(k, a)))


def parse_verifier_key(vkey: str):
    """SPEC §6: `<origin>+<hex keyID>+<base64(0x01 || publicKey)>` -> (origin, key id, public key)."""
    # A key name has no "+" (C2SP signed-note); base64 may.
    name, key_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise ValueError("not an Ed25519 verifier key")
    if H(name.encode() + b"\n" + raw)[:4].hex() != key_id:
        raise ValueError("the key id is not the key's")
    return name, bytes.fromhex(key_id), raw[1:]


def open_checkpoint(note: str, vkey: str) -> dict:
    """A signed checkpoint (SPEC §6) verified under `vkey`: its size and roots."""
    origin, key_id, public = parse_verifier_key(vkey)
    body, sep, sigs = note.partition("\n\n")
    body += "\n"
    if not sep or not sigs.endswith("\n"):
        raise ValueError("not a signed note")
    good = False
    for line in sigs[:-1].split("\n"):
        dash, name, b64 = line.split(" ")
        sig = base64.b64decode(b64, validate=True)
        if dash != "\u2014":
            raise ValueError("a signature line must start with an em dash")
        if name == origin and sig[:4] == key_id:
            good = ed25519_verify(public, body.encode(), sig[4:])
    if not good:
        raise ValueError("no valid signature by the log's key")
    lines = body[:-1].split("\n")
    if len(lines) != 4 or lines[0] != origin or not lines[3].startswith("keyproof-map "):
        raise ValueError("not a KeyProof checkpoint")
    if lines[1] != str(int(lines[1])):
        raise ValueError("size has leading zeros")
    return {
        "size": int(lines[1]),
        "logRoot": base64.b64decode(lines[2], validate=True),
        "mapRoot": base64.b64decode(lines[3][len("keyproof-map ") :], validate=True),
    }


class Replay:
    """SPEC §3 and §5: the participants and key states a log's entries make,
    each entry checked against the state machine's table."""

    def __init__(self):
        self.roles = {"operator": "operator"}
        self.states = {}
        self.last_time = ""
        self.size = 0

    def append(self, entry: str) -> None:
        event = json.loads(entry)
        if jcs(event) != entry:
            raise ValueError(f"entry {self.size} is not in JCS form")
        if event["v"] != 1 or event["time"] < self.last_time:
            raise ValueError(f"entry {self.size}: version or time out of order")
        self.last_time = event["time"]
        leaf, kind, actor, attrs = H(b"\x00" + entry.encode()).hex(), event["type"], event["actor"], event["attrs"]
        index, self.size = self.size, self.size + 1
        if kind == "participant":
            if actor != "operator" or attrs["id"] in self.roles:
                raise ValueError(f"entry {index}: a participant only the operator registers, once")
            self.roles[attrs["id"]] = attrs["role"]
            return
        key, s = event["key"], self.states.get(event["key"])
        if event["prev"] != (s["head"] if s else None):
            raise ValueError(f"entry {index}: prev is not the key's head")
        if kind == "issue":
            if s is not None or self.roles.get(actor) != "issuer":
                raise ValueError(f"entry {index}: issue of a known key or by no issuer")
            s = {"status": "issued", "issuer": actor, "holder": actor, "sku": attrs["sku"], "events": 0}
            if "expires" in attrs:
                s["expires"] = attrs["expires"]
            self.states[key] = s
        elif kind in ("transfer", "sell"):
            if s["status"] != "issued" or actor != s["holder"] or (kind == "transfer" and attrs["to"] not in self.roles):
                raise ValueError(f"entry {index}: {kind} breaks SPEC §3")
            if kind == "transfer":
                s["holder"] = attrs["to"]
            else:
                s["status"] = "sold"
        elif kind in ("redeem", "void"):
            allowed = (s["issuer"],) if kind == "redeem" else (s["issuer"], s["holder"])
            if s["status"] not in ("issued", "sold") or actor not in allowed:
                raise ValueError(f"entry {index}: {kind} breaks SPEC §3")
            s["status"] = "redeemed" if kind == "redeem" else "void"
        else:
            raise ValueError(f"entry {index}: unknown type {kind}")
        s["events"] += 1
        s["head"], s["index"] = leaf, index

    def map_items(self):
        return [(bytes.fromhex(k), H(jcs(s).encode())) for k, s in self.states.items()]


# Keccak-256 (the Keccak team's padding, as Ethereum uses it: not FIPS 202's
# SHA3-256), for the contract's function selectors of SPEC §7. The round
# constants and rotation offsets are derived as the Keccak reference defines
# them, not typed in.
_MASK = (1 << 64) - 1


def _rol(v: int, n: int) -> int:
    return ((v << n) | (v >> (64 - n))) & _MASK if n else v


def _rc_bit(t: int) -> int:
    r = 1
    for _ in range(t % 255):
        r <<= 1
        if r & 0x100:
            r ^= 0x171
    return r & 1


_RC = [sum(_rc_bit(j + 7 * i) << ((1 << j) - 1) for j in range(7)) for i in range(24)]
_ROT = [0] * 25
_x, _y = 1, 0
for _t in range(24):
    _ROT[_x + 5 * _y] = ((_t + 1) * (_t + 2) // 2) % 64
    _x, _y = _y, (2 * _x + 3 * _y) % 5


def _keccak_f(a: list) -> list:
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [v ^ d[i % 5] for i, v in enumerate(a)]
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                b[y + 5 * ((2 * x + 3 * y) % 5)] = _rol(a[x + 5 * y], _ROT[x + 5 * y])
        a = [b[i] ^ (~b[(i + 1) % 5 + i - i % 5] & _MASK & b[(i + 2) % 5 + i - i % 5]) for i in range(25)]
        a[0] ^= rc
    return a


def keccak256(data: bytes) -> bytes:
    rate = 136
    padded = bytearray(data + b"\x01" + bytes(-(len(data) + 1) % rate))
    padded[-1] |= 0x80
    state = [0] * 25
    for off in range(0, len(padded), rate):
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(padded[off + 8 * i : off + 8 * i + 8], "little")
        state = _keccak_f(state)
    return b"".join(v.to_bytes(8, "little") for v in state[:4])


def selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]
