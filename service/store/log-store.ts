/** Reads of the RFC 9162 log on LevelDB: entries, nodes, roots and proofs for any past size. */
import { EMPTY_ROOT } from "../core/log/hashing.js";
import { consistencyPlan, foldRange, inclusionPlan, perfectSubtrees, planNodes, type NodeId, type RangePlan } from "../core/log/ranges.js";
import { K } from "./keys.js";
import type { Db } from "./map-store.js";

export class LogStore {
  constructor(private readonly db: Db) {}

  /** Fetches nodes in one LevelDB round trip. */
  async nodes(ids: NodeId[]): Promise<Map<string, Uint8Array>> {
    const values = await this.db.getMany(ids.map((id) => K.node(id.level, id.index)));
    const out = new Map<string, Uint8Array>();
    ids.forEach((id, i) => {
      const v = values[i];
      if (!v) throw new Error(`log node ${id.level}/${id.index} is missing`);
      out.set(`${id.level}/${id.index}`, v);
    });
    return out;
  }

  private async fold(plans: RangePlan[]): Promise<Uint8Array[]> {
    const got = await this.nodes(planNodes(plans));
    return plans.map((p) => foldRange(p.map((id) => got.get(`${id.level}/${id.index}`)!)));
  }

  async root(size: bigint): Promise<Uint8Array> {
    if (size === 0n) return EMPTY_ROOT;
    const [r] = await this.fold([perfectSubtrees(0n, size)]);
    return r!;
  }

  async inclusionProof(index: bigint, size: bigint): Promise<Uint8Array[]> {
    return (await this.inclusionProofs([index], size))[0]!;
  }

  /** The proofs of several leaves in one size, read in one round trip (neighbours share most of their nodes). */
  async inclusionProofs(indices: bigint[], size: bigint): Promise<Uint8Array[][]> {
    const plans = indices.map((i) => inclusionPlan(i, size));
    const hashes = await this.fold(plans.flat());
    let at = 0;
    return plans.map((p) => hashes.slice(at, (at += p.length)));
  }

  consistencyProof(size1: bigint, size2: bigint): Promise<Uint8Array[]> {
    return this.fold(consistencyPlan(size1, size2));
  }

  async leafHash(index: bigint): Promise<Uint8Array> {
    const v = await this.db.get(K.node(0, index));
    if (!v) throw new Error(`leaf ${index} is missing`);
    return v;
  }

  /** Hashes of `count` consecutive nodes at `level` from `start` (C2SP tiles). */
  async levelHashes(level: number, start: bigint, count: number): Promise<Uint8Array[]> {
    const ids = Array.from({ length: count }, (_, i) => K.node(level, start + BigInt(i)));
    const values = await this.db.getMany(ids);
    return values.map((v, i) => {
      if (!v) throw new Error(`log node ${level}/${start + BigInt(i)} is missing`);
      return v;
    });
  }

  async entries(start: bigint, end: bigint): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for await (const [, v] of this.db.iterator({ gte: K.entry(start), lt: K.entry(end) })) out.push(v);
    if (BigInt(out.length) !== end - start) throw new Error(`entries [${start}, ${end}) are incomplete`);
    return out;
  }
}
