/**
 * The right border of a growing tree: the perfect subtrees covering [0, size).
 * Appending a leaf merges equal-height subtrees and reports every node it
 * completes, which is exactly what a store must persist to answer proofs.
 */
import { perfectSubtrees, type NodeId } from "./ranges.js";
import { EMPTY_ROOT, nodeHash } from "./hashing.js";

export interface StoredNode extends NodeId {
  hash: Uint8Array;
}

export class CompactRange {
  private constructor(
    private sizeValue: bigint,
    private readonly nodes: StoredNode[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0n, []);
  }

  /** Rebuilds the border of a tree of `size` from its stored perfect subtrees. */
  static fromNodes(size: bigint, lookup: (id: NodeId) => Uint8Array): CompactRange {
    const nodes = perfectSubtrees(0n, size).map((id) => ({ ...id, hash: lookup(id) }));
    return new CompactRange(size, nodes);
  }

  /** The node ids `fromNodes` reads for a tree of `size`. */
  static borderOf(size: bigint): NodeId[] {
    return perfectSubtrees(0n, size);
  }

  get size(): bigint {
    return this.sizeValue;
  }

  /** Appends one leaf hash; returns the nodes completed by it (the leaf first). */
  append(leaf: Uint8Array): StoredNode[] {
    const created: StoredNode[] = [{ level: 0, index: this.sizeValue, hash: leaf }];
    let node = created[0]!;
    this.nodes.push(node);
    while (this.nodes.length >= 2) {
      const right = this.nodes[this.nodes.length - 1]!;
      const left = this.nodes[this.nodes.length - 2]!;
      if (left.level !== right.level) break;
      node = { level: left.level + 1, index: left.index >> 1n, hash: nodeHash(left.hash, right.hash) };
      this.nodes.splice(this.nodes.length - 2, 2, node);
      created.push(node);
    }
    this.sizeValue++;
    return created;
  }

  root(): Uint8Array {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let h = this.nodes[this.nodes.length - 1]!.hash;
    for (let i = this.nodes.length - 2; i >= 0; i--) h = nodeHash(this.nodes[i]!.hash, h);
    return h;
  }

  clone(): CompactRange {
    return new CompactRange(this.sizeValue, [...this.nodes]);
  }
}
