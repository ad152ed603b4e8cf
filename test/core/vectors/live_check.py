#!/usr/bin/env python3
"""Checks a running KeyProof service against SPEC.md as a third party would,
with the formulas of spec.py (Python, standard library only, written from
SPEC.md alone): the signed checkpoint (§6), every entry in JCS form and
within the state machine (§3), the log root and the map root rebuilt from the
entries (§4, §5), hash tiles and entry bundles (§8, C2SP tlog-tiles), the service's inclusion and consistency proofs (§4), every
key's state and map proof and some absent keys' (§5, §8), the anchors on the
contract /v1/log names, where it names one (§7), and the evidence bundle of
each code given (§2, §9).

    python3 test/core/vectors/live_check.py http://127.0.0.1:8080 CODE[=ORDER] ...

Prints what it checked and exits 0, or every failure it found (the first
ten of each part: checkpoint and entries, tiles, log proofs, key states,
anchors, each code's bundle) and exits 1. A part whose answers cannot be
read on is left there and the next part runs; only a service it cannot reach,
or entries it cannot read, stop the whole check. The log must not grow while
it runs: what it reads later (proofs, states, the chain's latest anchor) is
held to the checkpoint it read first.
test/service/independent-check.test.ts runs it against a service it starts.
"""
import json
import sys
import urllib.error
import urllib.request

from spec import H, Replay, jcs, key_commitment, map_proves, map_root, mth, open_checkpoint, order_commitment, selector
from spec import verify_consistency, verify_inclusion

SAMPLE = 64  # indices and sizes checked one by one; every one in a smaller log
KEY_SAMPLE = 4096  # keys whose state and map proof are read; every key of a smaller log
SHOWN = 10  # failures printed for each part; the rest are counted


class Failed(Exception):
    """A failure the part it is found in cannot go on past."""


class Unreachable(Exception):
    """The service or its chain cannot be reached: nothing further can be checked."""


FAILURES: list = []  # (part, what), in the order found
PART = ["checkpoint and entries"]


def check(ok: bool, what: str, fatal: bool = False) -> bool:
    """Records a failure and goes on, or with `fatal` ends the part it is in (what follows depends on it)."""
    if not ok:
        if fatal:
            raise Failed(what)
        FAILURES.append((PART[0], what))
    return ok


def part(name: str, body, *args):
    """Runs one part of the check; what stops it is recorded, and the next part runs. True if it ran to its end."""
    PART[0] = name
    try:
        body(*args)
        return True
    except (Failed, ValueError) as e:
        FAILURES.append((name, str(e)))
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        FAILURES.append((name, f"an answer is not shaped as SPEC §8 says ({type(e).__name__}: {e})"))
    except urllib.error.HTTPError as e:
        FAILURES.append((name, f"{e.url} answered {e.code}: {e.read().decode('utf-8', 'replace')[:200]}"))
    except (urllib.error.URLError, OSError) as e:
        raise Unreachable(str(e)) from e
    return False


def spread(n: int):
    """Up to SAMPLE values of range(n), first and last among them."""
    if n <= SAMPLE:
        return list(range(n))
    return sorted({round(i * (n - 1) / (SAMPLE - 1)) for i in range(SAMPLE)})


class Service:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def get(self, path: str, as_json=True):
        text = self.get_bytes(path).decode("utf-8")
        return json.loads(text) if as_json else text

    def get_bytes(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return r.read()

    def post(self, path: str, body: dict):
        return post_json(self.base + path, body)


def post_json(url: str, body: dict):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


class Chain:
    """SPEC §7's contract, read with eth_call over JSON-RPC."""

    def __init__(self, rpc_url: str, contract: str, log_id: str):
        self.rpc, self.contract, self.log_id = rpc_url, contract, bytes.fromhex(log_id[2:])

    def call(self, method: str, params: list):
        a = post_json(self.rpc, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        check("error" not in a, f"{method}: {a.get('error')}", fatal=True)
        return a["result"]

    def read(self, signature: str, *words: bytes) -> bytes:
        data = selector(signature) + b"".join(w.rjust(32, b"\0") for w in words)
        out = bytes.fromhex(self.call("eth_call", [{"to": self.contract, "data": "0x" + data.hex()}, "latest"])[2:])
        check(len(out) % 32 == 0 and len(out) > 0, f"{signature} answered {len(out)} bytes", fatal=True)
        return out

    def checkpoint_at(self, size: int):
        out = self.read("checkpointAt(bytes32,uint64)", self.log_id, size.to_bytes(8, "big"))
        return out[0:32], out[32:64]

    def latest(self):
        out = self.read("latest(bytes32)", self.log_id)
        return int.from_bytes(out[0:32], "big"), out[32:64], out[64:96]


def tile_path(level, index: int, width: int) -> str:
    """C2SP tlog-tiles: the index in groups of three digits, all but the last with an x; a partial tile's width after .p/."""
    digits = str(index).rjust(-(-len(str(index)) // 3) * 3, "0")
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return f"/tile/{level}/" + "/".join([*("x" + g for g in groups[:-1]), groups[-1]]) + (f".p/{width}" if width < 256 else "")


def check_tiles(svc: Service, entries: list, leaves: list) -> int:
    """Hash tiles of every level and entry bundles, some of each, against the ones rebuilt from the entries."""
    checked, level, nodes = 0, 0, leaves
    while len(nodes) >= 1:
        for index in spread(-(-len(nodes) // 256))[-8:]:
            part = nodes[256 * index : 256 * index + 256]
            check(svc.get_bytes(tile_path(level, index, len(part))) == b"".join(part), f"tile {level}/{index}")
            checked += 1
            if level == 0:
                bundle = b"".join(len(e.encode()).to_bytes(2, "big") + e.encode() for e in entries[256 * index : 256 * index + 256])
                check(svc.get_bytes(tile_path("entries", index, len(part))) == bundle, f"entry bundle {index}")
                checked += 1
        # The next level's nodes: the roots of each full 256-node run of this one.
        nodes = [mth(nodes[i : i + 256]) for i in range(0, len(nodes) - 255, 256)]
        level += 1
    return checked


def roots_at(entries: list, leaves: list, size: int):
    """The log and map roots after the first `size` entries (and their leaf hashes), rebuilt from them."""
    replay = Replay()
    for e in entries[:size]:
        replay.append(e)
    return mth(leaves[:size]), map_root(replay.map_items())


class Log:
    """What the parts share: the service, its signed checkpoint, and the log and its keys rebuilt from its entries."""

    def __init__(self, svc: Service):
        self.svc, self.counts, self.chain = svc, {}, None

    def read(self):
        svc = self.svc
        self.info = info = svc.get("/v1/log")
        check(info["logId"] == "0x" + H(info["origin"].encode()).hex(), "§7 logId is H(origin)")
        self.cp = cp = open_checkpoint(svc.get("/checkpoint", as_json=False), info["verifierKey"])
        self.n = n = cp["size"]
        check(n == info["size"], "/v1/log's size is the checkpoint's")
        self.replay, self.entries, start = Replay(), [], 0
        while start < n:
            page = svc.get(f"/v1/entries?start={start}&end={n}")["entries"]
            check(len(page) > 0, f"/v1/entries from {start} is not empty", fatal=True)
            for i, e in enumerate(page):
                check(e["index"] == start + i, "entries come numbered in order", fatal=True)
                self.replay.append(e["entry"])
                self.entries.append(e["entry"])
            start += len(page)
        self.leaves = [H(b"\x00" + e.encode()) for e in self.entries]
        check(mth(self.leaves) == cp["logRoot"], "§4 the log root rebuilt from the entries is the checkpoint's")
        check(map_root(self.replay.map_items()) == cp["mapRoot"], "§5 the map root rebuilt from the entries is the checkpoint's")
        self.counts["entries"], self.counts["keys"] = n, len(self.replay.states)

    def tiles(self):
        self.counts["tiles"] = check_tiles(self.svc, self.entries, self.leaves)

    def log_proofs(self):
        svc, n, leaves, cp = self.svc, self.n, self.leaves, self.cp
        for i in spread(n):
            p = svc.get(f"/v1/proof/inclusion?index={i}&size={n}")
            check(p["leafHash"] == leaves[i].hex(), f"inclusion {i}: leafHash")
            check(verify_inclusion(i, n, leaves[i], [bytes.fromhex(h) for h in p["proof"]], cp["logRoot"]), f"§4 inclusion of {i} in {n}")
        for m in spread(n):
            if m == 0:
                continue
            p = svc.get(f"/v1/proof/consistency?from={m}&to={n}")["proof"]
            ok = verify_consistency(m, n, mth(leaves[:m]), cp["logRoot"], [bytes.fromhex(h) for h in p])
            check(ok, f"§4 consistency from {m} to {n}")
        self.counts["inclusion proofs"] = self.counts["consistency proofs"] = len(spread(n))

    def key_states(self):
        svc, n, cp, states = self.svc, self.n, self.cp, self.replay.states
        keys = sorted(states)
        if len(keys) > KEY_SAMPLE:
            keys = [keys[round(i * (len(keys) - 1) / (KEY_SAMPLE - 1))] for i in range(KEY_SAMPLE)]
        for key in keys:
            state = states[key]
            a = svc.get(f"/v1/keys/{key}")
            check(a["size"] == n and a["state"] == state, f"/v1/keys/{key}: the state replayed from the entries")
            check(map_proves(bytes.fromhex(key), a["mapProof"], cp["mapRoot"], H(jcs(state).encode())), f"§5 membership of {key}")
        for i in range(8):
            key = H(b"absent" + bytes([i]))
            a = svc.get(f"/v1/keys/{key.hex()}")
            check(a["state"] is None and map_proves(key, a["mapProof"], cp["mapRoot"], None), f"§5 absence of {key.hex()}")
        self.counts["map proofs"] = len(keys) + 8

    def anchors(self):
        svc, info, n, entries, leaves = self.svc, self.info, self.n, self.entries, self.leaves
        check(info["rpcUrl"] is not None, "/v1/log names the chain endpoint of its contract", fatal=True)
        chain = Chain(info["rpcUrl"], info["contract"], info["logId"])
        check(int(chain.call("eth_chainId", []), 16) == info["chainId"], "the RPC serves /v1/log's chainId", fatal=True)
        self.chain = chain
        anchors = svc.get("/v1/anchors")["anchors"]
        confirmed = [a for a in anchors if a["status"] == "confirmed"]
        check(len(confirmed) > 0, "a log with a contract has anchored", fatal=True)
        for a in [confirmed[i] for i in spread(len(confirmed))][-8:]:
            log_root, map_root_ = roots_at(entries, leaves, a["size"])
            check(a["logRoot"] == log_root.hex() and a["mapRoot"] == map_root_.hex(), f"anchor at {a['size']}: the roots of the log's first {a['size']} entries")
            check(chain.checkpoint_at(a["size"]) == (log_root, map_root_), f"§7 checkpointAt({a['size']}) holds the anchor's roots")
        size, log_root, map_root_ = chain.latest()
        check(confirmed[-1]["size"] <= size <= n, "§7 the chain's latest anchor is within this log")
        check((log_root, map_root_) == roots_at(entries, leaves, size), f"§7 the chain's latest anchor, at {size}, is a prefix of this log")
        self.counts["anchors"] = min(len(confirmed), 8)

    def bundle(self, code: str, order: str):
        info, n, entries, states, counts = self.info, self.n, self.entries, self.replay.states, self.counts
        b = self.svc.post("/v1/verify", {"code": code})
        check(b["type"] == "keyproof/bundle/v1" and b["log"] == {**b["log"], "origin": info["origin"], "verifierKey": info["verifierKey"]}, "§9 the bundle names this log")
        bcp = open_checkpoint(b["checkpoint"], info["verifierKey"])
        salt, key = bytes.fromhex(b["key"]["salt"]), b["key"]["commitment"]
        check(key_commitment(salt, code) == key, "§2 the commitment is the code's under the bundle's salt")
        if check(key in states, "the bundle's key is in the log") and bcp["size"] == n:
            check(b["state"] == states[key], "§9 the bundle's state is the one replayed from the entries")
        check(map_proves(bytes.fromhex(key), b["mapProof"], bcp["mapRoot"], H(jcs(b["state"]).encode())), "§9 the map proof proves the state")
        prev = None
        for ev in b["events"]:
            i, entry = ev["index"], ev["entry"]
            check(i < bcp["size"] and i < len(entries) and entries[i] == entry, f"§9 event {i} is the log's entry {i}")
            leaf = H(b"\x00" + entry.encode())
            check(verify_inclusion(i, bcp["size"], leaf, [bytes.fromhex(h) for h in ev["inclusion"]], bcp["logRoot"]), f"§9 inclusion of event {i}")
            check(json.loads(entry)["prev"] == prev, f"§9 event {i} chains through prev")
            prev = leaf.hex()
        check(prev == b["state"]["head"] and b["events"][-1]["index"] == b["state"]["index"], "§9 the newest event is the state's head")
        if order:
            sales = [json.loads(ev["entry"]) for ev in b["events"] if json.loads(ev["entry"])["type"] == "sell"]
            check(any(s["attrs"]["order"] == order_commitment(salt, order) for s in sales), "§2 the sale commits to the order given")
        if b["anchor"] is not None:
            chain = self.chain
            check(chain is not None, "§9 an anchored bundle's anchor is on the chain /v1/log names", fatal=True)
            check(b["anchor"]["size"] == bcp["size"], "§9 an anchored bundle is at its anchor's size")
            check(chain.checkpoint_at(bcp["size"]) == (bcp["logRoot"], bcp["mapRoot"]), "§9 checkpointAt holds the bundle's roots")
            counts["anchored bundles"] = counts.get("anchored bundles", 0) + 1
        counts["bundles"] = counts.get("bundles", 0) + 1


def run(base: str, codes: list) -> dict:
    """Every part in turn; the counts of what was checked. Failures are in FAILURES."""
    log = Log(Service(base))
    if not part("checkpoint and entries", log.read):
        return log.counts  # nothing else can be held to a checkpoint or entries it could not read
    part("tiles", log.tiles)
    part("log proofs", log.log_proofs)
    part("key states", log.key_states)
    if log.info["contract"] is not None:
        part("anchors", log.anchors)
    for arg in codes:
        code, _, order = arg.partition("=")
        part(f"bundle of {code}", log.bundle, code, order)
    return log.counts


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) >= 2 else 2
    try:
        counts = run(sys.argv[1], sys.argv[2:])
    except Unreachable as e:
        print(f"FAILED: cannot reach {sys.argv[1]} or its chain: {e}")
        return 1
    checked = ", ".join(f"{v} {k}" for k, v in counts.items())
    if not FAILURES:
        print("ok: " + checked)
        return 0
    parts: dict = {}
    for name, what in FAILURES:
        parts.setdefault(name, []).append(what)
    for name, found in parts.items():
        for what in found[:SHOWN]:
            print(f"FAILED [{name}]: {what}")
        if len(found) > SHOWN:
            print(f"FAILED [{name}]: … and {len(found) - SHOWN} more")
    print(f"{len(FAILURES)} failures in {len(parts)} of the parts; checked: {checked or 'nothing'}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
