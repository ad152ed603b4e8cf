#!/usr/bin/env python3
"""Runs spec.py's RFC 9162 proof verifiers over the shared RFC 6962 vectors
(../shared/testdata/rfc6962, from transparency-dev/merkle): the live
checker's own verifiers must accept every good proof and refuse every
tampered one, or its "ok" would mean nothing.

    python3 test/core/vectors/rfc6962_check.py ../shared/testdata/rfc6962

Prints the counts and exits 0, or lists the cases it got wrong and exits 1.
"""
import base64
import json
import pathlib
import sys

from spec import verify_consistency, verify_inclusion


def b64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    root, wrong, counts = pathlib.Path(sys.argv[1]), [], {"inclusion": 0, "consistency": 0}
    for kind in counts:
        for f in sorted((root / kind).rglob("*.json")):
            v = json.loads(f.read_text())
            proof = [b64(h) for h in v.get("proof") or []]
            if kind == "inclusion":
                ok = verify_inclusion(v["leafIdx"], v["treeSize"], b64(v["leafHash"]), proof, b64(v["root"]))
            else:
                ok = verify_consistency(v["size1"], v["size2"], b64(v["root1"]), b64(v["root2"]), proof)
            counts[kind] += 1
            if ok == v["wantErr"]:
                wrong.append(f"{f.relative_to(root)}: {v['desc']} ({'accepted' if ok else 'refused'})")
    if wrong or not all(counts.values()):
        print("FAILED:\n" + "\n".join(wrong or ["no vectors found"]))
        return 1
    print(f"ok: {counts['inclusion']} inclusion and {counts['consistency']} consistency vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
