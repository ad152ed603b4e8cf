import path from "node:path";
import { expect } from "chai";
import { fromBase64, verifyConsistency, verifyInclusion } from "../../service/core/index.js";
import { runVectorsScript } from "../helpers/python.js";
import { TESTDATA, vectorFiles, type ConsistencyVector, type InclusionVector } from "../helpers/testdata.js";

const b64 = (s: string): Uint8Array => (s === "" ? new Uint8Array(0) : fromBase64(s));

describe("shared RFC 6962 vectors", () => {
  const inclusion = vectorFiles("rfc6962/inclusion");
  const consistency = vectorFiles("rfc6962/consistency");

  it("are all present", () => {
    expect(inclusion.length).to.be.greaterThan(80);
    expect(consistency.length).to.be.greaterThan(80);
  });

  // The independent checker of live services (test/core/vectors/live_check.py) is only as good as its own verifiers.
  it("pass the Python verifiers of the independent checker too, every good proof accepted and every tampered one refused", async () => {
    const r = await runVectorsScript("rfc6962_check.py", [path.join(TESTDATA, "rfc6962")]);
    expect(r.out).to.equal(`ok: ${inclusion.length} inclusion and ${consistency.length} consistency vectors\n`);
    expect(r.status).to.equal(0);
  });

  describe("inclusion", () => {
    for (const { name, data } of inclusion) {
      const v = data as InclusionVector;
      it(`${name}: ${v.desc} (${v.wantErr ? "rejected" : "accepted"})`, () => {
        const run = (): void =>
          verifyInclusion(BigInt(v.leafIdx), BigInt(v.treeSize), b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root));
        if (v.wantErr) expect(run).to.throw();
        else expect(run).not.to.throw();
      });
    }
  });

  describe("consistency", () => {
    for (const { name, data } of consistency) {
      const v = data as ConsistencyVector;
      it(`${name}: ${v.desc} (${v.wantErr ? "rejected" : "accepted"})`, () => {
        const run = (): void => verifyConsistency(BigInt(v.size1), BigInt(v.size2), b64(v.root1), b64(v.root2), (v.proof ?? []).map(b64));
        if (v.wantErr) expect(run).to.throw();
        else expect(run).not.to.throw();
      });
    }
  });
});
