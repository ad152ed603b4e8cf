/**
 * The SPEC §3 state machine: the single authority on which events are allowed.
 * The service runs it on append and auditors re-run it on replay.
 *
 * Checks run in a fixed order, so one event always gets one code: the actor
 * (registered, role), then the key (known), then the actor's relation to the
 * key (holder, issuer), then the key's status. See docs/protocol-choices.md.
 */
import { KeyProofError } from "../errors.js";
import { OPERATOR_ID, type KeyState, type LedgerEvent, type Participant } from "./schema.js";

export interface LedgerView {
  participant(id: string): Participant | undefined;
  keyState(key: string): KeyState | undefined;
}

export type Effect =
  { kind: "participant"; participant: Participant } | { kind: "key"; key: string; state: KeyState; redeemedWithoutSale: boolean };

export const OPERATOR: Participant = { id: OPERATOR_ID, role: "operator", name: "log operator" };

function fail(code: string, message: string): never {
  throw new KeyProofError(code, message);
}

function requireActor(view: LedgerView, id: string): Participant {
  return view.participant(id) ?? fail("UNKNOWN_PARTICIPANT", `participant ${id} is not registered`);
}

function requireLive(state: KeyState, type: string): void {
  if (state.status === "redeemed") fail("ALREADY_REDEEMED", `cannot ${type}: the key was already redeemed`);
  if (state.status === "void") fail("KEY_VOID", `cannot ${type}: the key is void`);
}

/**
 * Validates `event` (appended at `index` with leaf hash `leaf`) against the
 * ledger and returns its effect; throws a KeyProofError with a stable code.
 */
export function applyEvent(view: LedgerView, event: LedgerEvent, leaf: string, index: number): Effect {
  const actor = requireActor(view, event.actor);

  if (event.type === "participant") {
    if (actor.role !== "operator") fail("FORBIDDEN_ROLE", "only the operator registers participants");
    if (view.participant(event.attrs.id)) fail("INVALID_INPUT", `participant ${event.attrs.id} is already registered`);
    return { kind: "participant", participant: { ...event.attrs } };
  }

  const current = view.keyState(event.key);
  if (event.type === "issue") {
    if (actor.role !== "issuer") fail("FORBIDDEN_ROLE", "only issuers issue keys");
    if (current) fail("DUPLICATE_KEY", "this key was already issued");
    // Members in code-unit order, kept by the spreads below: canonicalize
    // (jcs.ts) then writes the state without sorting it.
    const state: KeyState = {
      events: 1,
      ...(event.attrs.expires !== undefined ? { expires: event.attrs.expires } : {}),
      head: leaf,
      holder: actor.id,
      index,
      issuer: actor.id,
      sku: event.attrs.sku,
      status: "issued",
    };
    return { kind: "key", key: event.key, state, redeemedWithoutSale: false };
  }

  if (!current) return fail("UNKNOWN_KEY", "no key with this commitment was issued");
  if (event.prev !== current.head) fail("INVALID_INPUT", "prev does not name the key's newest event");
  const next: KeyState = { ...current, events: current.events + 1, head: leaf, index };

  switch (event.type) {
    case "transfer": {
      if (actor.id !== current.holder) fail("NOT_HOLDER", "only the key's holder can transfer it");
      requireLive(current, "transfer");
      if (current.status === "sold") fail("DOUBLE_SALE", "the key was sold; it cannot change hands again");
      const to = view.participant(event.attrs.to);
      if (!to) fail("UNKNOWN_PARTICIPANT", `participant ${event.attrs.to} is not registered`);
      if (to.role === "operator") fail("FORBIDDEN_ROLE", "keys cannot be transferred to the operator");
      return { kind: "key", key: event.key, state: { ...next, holder: to.id }, redeemedWithoutSale: false };
    }
    case "sell": {
      if (actor.id !== current.holder) fail("NOT_HOLDER", "only the key's holder can sell it");
      requireLive(current, "sell");
      if (current.status === "sold") fail("DOUBLE_SALE", "the key was already sold");
      return { kind: "key", key: event.key, state: { ...next, status: "sold" }, redeemedWithoutSale: false };
    }
    case "redeem": {
      if (actor.id !== current.issuer) fail("NOT_ISSUER", "only the key's issuer can redeem it");
      requireLive(current, "redeem");
      return {
        kind: "key",
        key: event.key,
        state: { ...next, status: "redeemed" },
        redeemedWithoutSale: current.status === "issued",
      };
    }
    case "void": {
      if (actor.id !== current.issuer && actor.id !== current.holder) {
        fail("NOT_HOLDER", "only the key's issuer or holder can void it");
      }
      requireLive(current, "void");
      return { kind: "key", key: event.key, state: { ...next, status: "void" }, redeemedWithoutSale: false };
    }
  }
}

/**
 * A view that layers a batch's uncommitted effects over a base view, so later
 * events in one batch see earlier ones (issue then sell in one batch).
 */
export class OverlayView implements LedgerView {
  readonly participants = new Map<string, Participant>();
  readonly states = new Map<string, KeyState>();

  constructor(private readonly base: LedgerView) {}

  participant(id: string): Participant | undefined {
    return this.participants.get(id) ?? this.base.participant(id);
  }

  keyState(key: string): KeyState | undefined {
    return this.states.get(key) ?? this.base.keyState(key);
  }

  apply(effect: Effect): void {
    if (effect.kind === "participant") this.participants.set(effect.participant.id, effect.participant);
    else this.states.set(effect.key, effect.state);
  }
}
