/**
 * An in-memory RFC 9162 tree that answers proofs through the same plans as
 * the LevelDB store. Used by tests as an independent model, and by tools that
 * build small logs (fixtures).
 */
import { CompactRange } from "./compact-range.js";
import { EMPTY_ROOT, leafHash } from "./hashing.js";
import { consistencyPlan, foldRange, inclusionPlan, nodeKey, perfectSubtrees, type NodeId, type RangePlan } from "./ranges.js";

export class MemoryTree {
  private readonly nodes = new Map<string, Uint8Array>();
  private readonly range = CompactRange.empty();

  get size(): bigint {
    return this.range.size;
  }

  appendEntry(entry: Uint8Array): Uint8Array {
    const leaf = leafHash(entry);
    this.appendLeaf(leaf);
    return leaf;
  }

  appendLeaf(leaf: Uint8Array): void {
    for (const n of this.range.append(leaf)) this.nodes.set(nodeKey(n), n.hash);
  }

  private node = (id: NodeId): Uint8Array => {
    const h = this.nodes.get(nodeKey(id));
    if (!h) throw new Error(`missing node ${nodeKey(id)}`);
    return h;
  };

  private fold(plans: RangePlan[]): Uint8Array[] {
    return plans.map((p) => foldRange(p.map(this.node)));
  }

  root(size: bigint = this.size): Uint8Array {
    if (size > this.size) throw new RangeError("size beyond tree");
    return size === 0n ? EMPTY_ROOT : foldRange(perfectSubtrees(0n, size).map(this.node));
  }

  leaf(index: bigint): Uint8Array {
    return this.node({ level: 0, index });
  }

  inclusionProof(index: bigint, size: bigint = this.size): Uint8Array[] {
    return this.fold(inclusionPlan(index, size));
  }

  consistencyProof(size1: bigint, size2: bigint = this.size): Uint8Array[] {
    return this.fold(consistencyPlan(size1, size2));
  }
}
