/**
 * Replays log entries through the state machine, as an auditor does: every
 * entry is checked for form, rules and time order; findings are collected
 * instead of stopping, and the resulting key states feed the map rebuild.
 */
import { toHex, utf8 } from "../bytes.js";
import { KeyProofError } from "../errors.js";
import { leafHash } from "../log/hashing.js";
import { decodeEntry } from "./entry.js";
import { applyEvent, OPERATOR, type LedgerView } from "./machine.js";
import { OPERATOR_ID, type KeyState, type Participant } from "./schema.js";

export type FindingCode =
  | "MALFORMED_ENTRY"
  | "RULE_VIOLATION"
  | "UNREGISTERED_ACTOR"
  | "TIME_BACKWARDS"
  | "REDEEMED_WITHOUT_SALE"
  | "LOG_ROOT_MISMATCH"
  | "MAP_ROOT_MISMATCH"
  | "FORK"
  | "MISSING_ENTRIES"
  | "BAD_CHECKPOINT"
  | "INCONSISTENT_ANCHORS";

export interface Finding {
  code: FindingCode;
  index?: number;
  size?: number;
  detail: string;
}

export class Replayer implements LedgerView {
  readonly participants = new Map<string, Participant>([[OPERATOR_ID, OPERATOR]]);
  readonly states = new Map<string, KeyState>();
  /** Keys changed since the last `takeDirty`, for incremental map updates. */
  private dirty = new Set<string>();
  private lastTime = "";
  count = 0;

  participant(id: string): Participant | undefined {
    return this.participants.get(id);
  }

  keyState(key: string): KeyState | undefined {
    return this.states.get(key);
  }

  /** Applies entry number `count`; returns its leaf hash and any findings. */
  apply(entry: Uint8Array): { leaf: Uint8Array; findings: Finding[] } {
    const index = this.count++;
    const leaf = leafHash(entry);
    const findings: Finding[] = [];
    let event;
    try {
      event = decodeEntry(entry);
    } catch (e) {
      findings.push({ code: "MALFORMED_ENTRY", index, detail: (e as Error).message });
      return { leaf, findings };
    }
    if (event.time < this.lastTime) findings.push({ code: "TIME_BACKWARDS", index, detail: `${event.time} is before ${this.lastTime}` });
    else this.lastTime = event.time;
    try {
      const effect = applyEvent(this, event, toHex(leaf), index);
      if (effect.kind === "participant") this.participants.set(effect.participant.id, effect.participant);
      else {
        this.states.set(effect.key, effect.state);
        this.dirty.add(effect.key);
        if (effect.redeemedWithoutSale)
          findings.push({ code: "REDEEMED_WITHOUT_SALE", index, detail: `key ${effect.key} was redeemed but never sold` });
      }
    } catch (e) {
      if (!(e instanceof KeyProofError)) throw e;
      const code = e.code === "UNKNOWN_PARTICIPANT" && !this.participants.has(event.actor) ? "UNREGISTERED_ACTOR" : "RULE_VIOLATION";
      findings.push({ code, index, detail: `${event.type} by ${event.actor}: ${e.code} (${e.message})` });
    }
    return { leaf, findings };
  }

  applyText(entry: string): { leaf: Uint8Array; findings: Finding[] } {
    return this.apply(utf8(entry));
  }

  takeDirty(): string[] {
    const d = [...this.dirty];
    this.dirty = new Set();
    return d;
  }
}
