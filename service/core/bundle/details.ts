/**
 * What a bundle check found, as a message id and its values, so that each
 * language words it: English here (the tools print it as `detail`), the
 * others on the verify page. A check that fails with an error carries the
 * error's own text instead.
 */
export const DETAILS = {
  "format.ok": "well-formed keyproof/bundle/v1",
  "log.ok": "log {origin}",
  "log.trustedKey": "log {origin} (trusted verifier key)",
  "log.trustedContract": "log {origin} (trusted contract)",
  "log.trustedBoth": "log {origin} (trusted verifier key and contract)",
  "signature.ok": "checkpoint of size {size} signed by {origin}",
  "commitment.ok": "the code entered matches the key's commitment",
  "inclusion.ok": "{events} event(s) are in the log at size {size}",
  "chain.ok": "the events form one unbroken history from issue to the newest",
  "state.ok": "state {status} follows from the events",
  "map.ok": "the key's state is committed in the map root",
  "order.match": "the key was sold to this order",
  "order.other": "the key was sold to another order",
  "order.unsold": "the key has not been sold",
  "anchor.unchecked": "no chain was checked",
  "anchor.waiting": "this checkpoint is waiting for the next anchor",
  "anchor.missing": "the chain has no anchor at this size",
  "anchor.ok": "the chain holds this checkpoint's roots at size {size}",
  "anchor.okTx": "the chain holds this checkpoint's roots at size {size}, stored by transaction {tx} in block {block}",
  "anchor.okTxUnknown":
    "the chain holds this checkpoint's roots at size {size}; the transaction {tx} the bundle names is not known to this RPC (nodes drop old transactions' index), so it is not checked",
  "anchor.txMissing":
    "the chain holds this checkpoint's roots, but block {block} has no transaction {tx}, which the bundle names as storing them",
  "anchor.txFuture": "the bundle names transaction {tx} in block {block}, which the chain has not reached",
  "anchor.txReverted": "the transaction {tx} the bundle names as storing this checkpoint failed",
  "anchor.okTxMoved":
    "the chain holds this checkpoint's roots at size {size}, stored by transaction {tx} in block {minedIn}; the bundle says block {block} (the chain reorganised after the bundle was made, or the bundle was changed)",
  "anchor.txOther": "the transaction {tx} the bundle names did not anchor this checkpoint",
  "anchor.forked": "the chain holds different roots for this size: the log forked",
  "anchor.unverified": "no verified checkpoint to look up",
  "anchor.otherSize": "the bundle's anchor record is for size {anchored}, its checkpoint for size {size}",
} as const;

export type DetailKey = keyof typeof DETAILS;
export type DetailValues = Record<string, string | number>;

/** A message id and its values. */
export interface Said {
  key: DetailKey;
  values?: DetailValues;
}

/** `template` with each `{name}` replaced by its value. */
export function fill(template: string, values: DetailValues = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => String(values[k] ?? ""));
}

/** The English wording of `said`. */
export function english(said: Said): string {
  return fill(DETAILS[said.key], said.values);
}
