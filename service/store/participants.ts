/**
 * The registered participants, as the ledger keeps them: what readers see
 * (durable), what the sequencer sees (the groups not yet durable on top),
 * and where each registration is in the log, from which a verifier proves a
 * participant's name (GET /v1/participants/<id>).
 */
import { fromUtf8, utf8 } from "../core/bytes.js";
import { decodeEntry } from "../core/ledger/entry.js";
import { OPERATOR } from "../core/ledger/machine.js";
import { OPERATOR_ID, type Participant } from "../core/ledger/schema.js";
import { K } from "./keys.js";
import type { LogStore } from "./log-store.js";
import type { Db } from "./map-store.js";

/** A participant as stored: with the log index of its registration. */
type StoredParticipant = Participant & { index?: number };

/** The stored record of a participant registered at `index`. */
export function participantRecord(p: Participant, index: bigint): Uint8Array {
  const stored: StoredParticipant = { ...p, index: Number(index) };
  return utf8(JSON.stringify(stored));
}

export class Participants {
  private readonly durable = new Map<string, Participant>([[OPERATOR_ID, OPERATOR]]);
  /** Registered by groups not yet durable, for the groups prepared after them. */
  private readonly staged = new Map<string, Participant>();
  private readonly events = new Map<string, bigint>();

  /** Reads the stored participants of a log of `size` entries. */
  async load(db: Db, log: LogStore, size: bigint): Promise<void> {
    for await (const [, v] of db.iterator(K.participantRange)) {
      const { index, ...p } = JSON.parse(fromUtf8(v)) as StoredParticipant;
      this.durable.set(p.id, p);
      if (index !== undefined) this.events.set(p.id, BigInt(index));
    }
    await this.findEvents(db, log, size);
  }

  /** A durable participant. */
  get(id: string): Participant | undefined {
    return this.durable.get(id);
  }

  /** The log index of a durable participant's registration. */
  eventOf(id: string): bigint | undefined {
    return this.events.get(id);
  }

  /** A participant as the sequencer sees it: registered by a durable group or by one being written. */
  working(id: string): Participant | undefined {
    return this.staged.get(id) ?? this.durable.get(id);
  }

  /** Registrations of a prepared group, seen by the groups prepared after it. */
  stage(registered: Map<string, Participant>): void {
    for (const [id, p] of registered) this.staged.set(id, p);
  }

  /** Registrations of a durable group (and where they are in the log), now seen by readers. */
  publish(registered: Map<string, Participant>, events: Map<string, bigint>): void {
    for (const [id, p] of registered) {
      this.durable.set(id, p);
      if (this.staged.get(id) === p) this.staged.delete(id);
    }
    for (const [id, index] of events) this.events.set(id, index);
  }

  /**
   * Participants registered by a version that did not store where their
   * registration is (before 2026-12-02): found once by reading the log from
   * its start, which stops as soon as each is found, since participants are
   * registered before the events that name them, early in a log.
   */
  private async findEvents(db: Db, log: LogStore, size: bigint): Promise<void> {
    const missing = new Set([...this.durable.keys()].filter((id) => id !== OPERATOR_ID && !this.events.has(id)));
    if (missing.size === 0) return;
    const batch = db.batch();
    try {
      for (let start = 0n; start < size && missing.size > 0; start += 1000n) {
        const end = start + 1000n < size ? start + 1000n : size;
        const entries = await log.entries(start, end);
        entries.forEach((e, i) => {
          // What cannot be read here is for the audit to find, not a reason not to open.
          let event;
          try {
            event = decodeEntry(e);
          } catch {
            return;
          }
          if (event.type !== "participant" || !missing.delete(event.attrs.id)) return;
          const index = start + BigInt(i);
          this.events.set(event.attrs.id, index);
          batch.put(K.participant(event.attrs.id), participantRecord(this.durable.get(event.attrs.id)!, index));
        });
      }
      await batch.write({ sync: true });
    } finally {
      await batch.close().catch(() => undefined);
    }
  }
}
