import { expect } from "chai";
import { K } from "../../service/store/keys.js";
import { utf8 } from "../../service/core/bytes.js";
import { displayName, verifyParticipant } from "../../service/core/bundle/participant.js";
import { openCheckpoint } from "../../service/core/note/checkpoint.js";
import type { Ledger } from "../../service/store/ledger.js";
import { serveApp, type ServedApp } from "../helpers/app.js";
import { cleanup, openLedger, openTestLedger } from "../helpers/ledger.js";

describe("GET /v1/participants/<id>: a registration with its inclusion proof", () => {
  let dir: string;
  let ledger: Ledger;
  let served: ServedApp;
  const get = async (p: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${served.url}${p}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    ({ dir, ledger } = await openTestLedger());
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "PARTICIPANT-ROUTE-1", sku: "s" }] });
    await ledger.submit({ actor: "operator", requests: [{ type: "participant", id: "late-shop", role: "seller", name: "Late Shop" }] });
    served = await serveApp(ledger);
  });
  after(async () => {
    await served.close();
    await ledger.close();
    cleanup(dir);
  });

  it("proves each registration at the newest size and at an older one, and the proof holds only for its own id", async () => {
    const cp = openCheckpoint(ledger.checkpoint.note, ledger.verifierKey);
    const now = await get("/v1/participants/late-shop");
    expect(now.status).to.equal(200);
    expect(now.body).to.include({ id: "late-shop", role: "seller", name: "Late Shop", index: 5, size: 6 });
    expect(verifyParticipant(now.body, "late-shop", cp)).to.deep.equal({ id: "late-shop", role: "seller", name: "Late Shop" });
    expect(() => verifyParticipant(now.body, "acme", cp)).to.throw("does not register acme");
    // At size 5 (before late-shop), acme's registration and its proof against that checkpoint.
    const at5 = await get("/v1/participants/acme?size=5");
    expect(at5.body).to.include({ id: "acme", name: "Acme Games", index: 0, size: 5 });
    const cp5 = openCheckpoint((await ledger.checkpointAt(5n))!, ledger.verifierKey);
    expect(verifyParticipant(at5.body, "acme", cp5).name).to.equal("Acme Games");
    // Not against another size's root, and not with a name edited into the entry.
    expect(() => verifyParticipant(at5.body, "acme", cp)).to.throw();
    const edited = { ...at5.body, entry: (at5.body.entry as string).replace("Acme Games", "Acme Gamez") };
    expect(() => verifyParticipant(edited, "acme", cp5)).to.throw("inclusion proof");
  });

  it("refuses what it cannot prove with stable errors", async () => {
    expect((await get("/v1/participants/nobody")).status).to.equal(404);
    expect((await get("/v1/participants/operator")).status, "the operator has no registration").to.equal(404);
    for (const bad of [
      "/v1/participants/Acme",
      "/v1/participants/late-shop?size=5",
      "/v1/participants/acme?size=99",
      "/v1/participants/acme?size=x",
      "/v1/participants/acme?sise=3",
    ]) {
      const r = await get(bad);
      expect(r.status, bad).to.equal(400);
      expect((r.body.error as { code: string }).code, bad).to.equal("INVALID_INPUT");
    }
  });

  it("finds, once, where participants stored by an older version were registered", async () => {
    await served.close();
    await ledger.close();
    // As an older version stored them: without the index.
    const { ClassicLevel } = await import("classic-level");
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    for (const [id, role, name] of [
      ["acme", "issuer", "Acme Games"],
      ["late-shop", "seller", "Late Shop"],
    ])
      await db.put(K.participant(id!), utf8(JSON.stringify({ id, role, name })));
    // An entry that cannot be read on the way (for the audit to find) does not stop it.
    await db.put(K.entry(4n), utf8("not an event"));
    await db.close();
    ledger = await openLedger(dir);
    served = await serveApp(ledger);
    expect(ledger.participantEvent("acme")).to.equal(0n);
    expect(ledger.participantEvent("late-shop")).to.equal(5n);
    expect(ledger.participantEvent("shop-b")).to.equal(3n);
    expect((await get("/v1/participants/late-shop")).body).to.include({ index: 5, name: "Late Shop" });
  });
});

describe("displayName: how verifiers show a participant", () => {
  it("puts a proved name beside the id, and shows the bare id when none was proved or the name is the id", () => {
    const names = new Map([
      ["shop-1", "Example Shop"],
      ["self", "self"],
    ]);
    expect(displayName("shop-1", names)).to.equal("Example Shop (shop-1)");
    expect(displayName("other", names)).to.equal("other");
    expect(displayName("self", names)).to.equal("self");
    expect(displayName("shop-1", undefined)).to.equal("shop-1");
  });
});
