/** SPEC §9 evidence bundle, as a zod schema (bundles arrive from outside). */
import { z } from "zod";
import { hex32, keyState } from "../ledger/schema.js";

const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x-prefixed bytes32");
/** An Ethereum address, any letter case (checksummed or not). */
export const ETH_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
export const ethAddress = z.string().regex(ETH_ADDRESS, "must be a 0x-prefixed address");
const index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const mapProofSchema = z.strictObject({
  siblings: z.array(hex32).max(256),
  leaf: z.union([z.null(), z.strictObject({ key: hex32, stateHash: hex32 })]),
});

/** The log a bundle names; `verify-bundle` reads its chain with it before the whole bundle is verified. */
export const bundleLogSchema = z
  .strictObject({
    origin: z.string().min(1),
    verifierKey: z.string().min(1),
    logId: bytes32,
    // EIP-155 chain ids are positive: 0 names no chain, and a reader would skip checking its RPC's.
    chainId: z.union([z.null(), z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)]),
    contract: z.union([z.null(), ethAddress]),
  })
  // A contract is read on one chain: the two are named together or not at all (docs/protocol-choices.md).
  .refine((l) => (l.chainId === null) === (l.contract === null), {
    message: "chainId and contract are both given or both null",
    path: ["chainId"],
  });

export const bundleSchema = z
  .strictObject({
    type: z.literal("keyproof/bundle/v1"),
    log: bundleLogSchema,
    checkpoint: z
      .string()
      .min(1)
      .max(1 << 16),
    key: z.strictObject({ commitment: hex32, salt: hex32 }),
    state: keyState,
    mapProof: mapProofSchema,
    events: z
      .array(z.strictObject({ index, entry: z.string(), inclusion: z.array(hex32).max(64) }))
      .min(1)
      .max(10_000),
    anchor: z.union([z.null(), z.strictObject({ size: index, txHash: bytes32, blockNumber: index })]),
  })
  // An anchor is a transaction to a contract: a bundle naming none has none.
  .refine((b) => b.anchor === null || b.log.contract !== null, {
    message: "an anchor needs the log's contract",
    path: ["anchor"],
  });

export type EvidenceBundle = z.infer<typeof bundleSchema>;
