/** An in-memory sparse Merkle map (tests, fixtures, and auditors' replays). */
import { mapRoot, positionId, proveKey, updateMap, type MapNode, type MapNodeSource, type MapUpdate } from "./sparse-map.js";
import type { MapProof } from "./proof.js";

export class MemoryMap implements MapNodeSource {
  private readonly nodes = new Map<string, MapNode>();

  get(depth: number, path: Uint8Array): MapNode | undefined {
    return this.nodes.get(positionId(depth, path));
  }

  update(updates: MapUpdate[]): Uint8Array {
    const { root, writes } = updateMap(this, updates);
    for (const w of writes) this.nodes.set(positionId(w.depth, w.path), w.node);
    return root;
  }

  root(): Uint8Array {
    return mapRoot(this);
  }

  prove(key: Uint8Array): MapProof {
    return proveKey(this, key);
  }
}
