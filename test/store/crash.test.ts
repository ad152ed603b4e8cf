/**
 * A child process appends batches and is killed with SIGKILL at random
 * moments. After each kill the store must reopen consistent, keep every batch
 * the child reported durable, hold no half batch, and stay consistent with
 * every checkpoint it handed out.
 */
import { expect } from "chai";
import { once } from "node:events";
import {
  MemoryMap,
  MemoryTree,
  Replayer,
  fromHex,
  openCheckpoint,
  stateHash,
  toHex,
  verifyConsistency,
  type Checkpoint,
} from "../../service/core/index.js";
import { onLines, spawnHelper } from "../helpers/child.js";
import { cleanup, openLedger, tempDir } from "../helpers/ledger.js";

const KILLS = 8;

describe("crash safety (SIGKILL during appends)", () => {
  it(`keeps every acknowledged batch and nothing partial across ${KILLS} kills`, async function () {
    this.timeout(300_000);
    const dir = tempDir("keyproof-crash-");
    const acked = new Map<number, string>(); // index -> leaf hash reported durable
    const handedOut: string[] = [];
    let nextKey = 0;
    try {
      for (let round = 0; round < KILLS; round++) {
        const child = spawnHelper("./appender.ts", "appendForever", [dir, String(nextKey)]);
        let batches = 0;
        onLines(child, (line) => {
          const m = JSON.parse(line) as { nextKey: number; checkpoint: string; events: [number, string][] };
          nextKey = m.nextKey;
          handedOut.push(m.checkpoint);
          for (const [i, h] of m.events) acked.set(i, h);
          batches++;
        });
        // Let it write a few batches, then kill it at a random moment in the next one.
        while (batches < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, Math.random() * 300));
        child.kill("SIGKILL");
        await once(child, "exit");
        expect(batches, "the child appended nothing before the kill").to.be.greaterThan(0);

        const ledger = await openLedger(dir);
        try {
          const size = ledger.size;
          const latest = openCheckpoint(ledger.checkpoint.note, ledger.verifierKey);
          expect(latest.size).to.equal(size);
          // Every acknowledged event is there, byte for byte the same leaf.
          for (const [i, h] of acked) {
            expect(BigInt(i) < size, `acknowledged entry ${i} lost (size ${size})`).to.equal(true);
            expect(toHex(await ledger.log.leafHash(BigInt(i)))).to.equal(h);
          }
          // Nothing beyond the checkpoint: no half batch.
          let beyond = true;
          await ledger.entry(size).catch(() => (beyond = false));
          expect(beyond, "an entry exists beyond the latest checkpoint").to.equal(false);
          // The new checkpoint extends every checkpoint handed out before.
          for (const note of handedOut.slice(-20)) {
            const old: Checkpoint = openCheckpoint(note, ledger.verifierKey);
            if (old.size === 0n || old.size === size) continue;
            verifyConsistency(old.size, size, old.logRoot, latest.logRoot, await ledger.log.consistencyProof(old.size, size));
          }
          // Roots rebuilt from the entries alone match the signed ones.
          const tree = new MemoryTree();
          const replay = new Replayer();
          for (const e of await ledger.log.entries(0n, size)) {
            const { leaf, findings } = replay.apply(e);
            expect(findings).to.deep.equal([]);
            tree.appendLeaf(leaf);
          }
          const map = new MemoryMap();
          map.update(replay.takeDirty().map((k) => ({ key: fromHex(k), stateHash: stateHash(replay.states.get(k)!) })));
          expect(toHex(tree.root())).to.equal(toHex(latest.logRoot));
          expect(toHex(map.root())).to.equal(toHex(latest.mapRoot));
        } finally {
          await ledger.close();
        }
      }
    } finally {
      cleanup(dir);
    }
  });
});
