/** Service configuration from environment variables, validated with zod. */
import { isIP } from "node:net";
import { z } from "zod";
import { ethAddress } from "./core/bundle/schema.js";
import { MAP_CACHE_NODES } from "./store/map-store.js";

const port = z.coerce.number().int().min(0).max(65535);
const hex32 = z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be 32 bytes of hex");

/** An address or CIDR block a reverse proxy sends from, or one of Express's names for a range of them. */
function proxyAddress(s: string): boolean {
  if (["loopback", "linklocal", "uniquelocal"].includes(s)) return true;
  const [addr, bits, ...rest] = s.split("/");
  const family = isIP(addr ?? "");
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * Which reverse proxies' X-Forwarded-For to believe for a client's address
 * (what the verify rate limit counts by): a number of proxy hops, or their
 * addresses. Never "any": a client could then name its own address, and
 * every guess would come from a new one.
 */
const trustProxy = z
  .string()
  .trim()
  .refine(
    (s) => !/^(true|\*)$/i.test(s),
    "must name the proxies (a hop count, addresses or CIDR blocks), not trust every client's X-Forwarded-For",
  )
  .transform((s, ctx) => {
    if (/^[0-9]+$/.test(s)) {
      const hops = Number(s);
      if (hops >= 1 && hops <= 10) return hops;
    } else {
      const list = s.split(",").map((a) => a.trim());
      if (list.every(proxyAddress)) return list;
    }
    ctx.addIssue({
      code: "custom",
      message: "must be a hop count from 1 to 10, or addresses and CIDR blocks (or loopback, linklocal, uniquelocal) separated by commas",
    });
    return z.NEVER;
  });

export const configSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./data"),
  ORIGIN: z
    .string()
    .regex(/^[^\s+]+$/, "must be a key name: no spaces or '+'")
    .default("keyproof.localhost/log"),
  OPERATOR_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  SIGNING_KEY: hex32.optional(),
  PEPPER: hex32.optional(),
  RPC_URL: z.url().optional(),
  /** The RPC URL handed to browsers (default: the embedded chain, or RPC_URL when it is bare: see server.ts). */
  PUBLIC_RPC_URL: z.url().optional(),
  CHAIN_PRIVATE_KEY: hex32.optional(),
  CONTRACT: ethAddress.optional(),
  CHAIN_PORT: port.default(8545),
  ANCHOR_INTERVAL: z.coerce.number().min(0).default(30),
  ANCHORING: z.enum(["on", "off"]).default("on"),
  CONFIRMATIONS: z.coerce.number().int().min(0).default(1),
  /** Seconds to wait for an anchor transaction before sending it again with higher fees (or anew, if the node dropped it). */
  ANCHOR_TX_TIMEOUT: z.coerce.number().min(1).default(300),
  /** The highest fee per gas an anchor offers, in gwei (first sends and the raises of a stuck one); none by default. */
  ANCHOR_MAX_FEE_GWEI: z.coerce.number().positive().max(1_000_000).optional(),
  /** Days an Idempotency-Key's answer is kept (0: forever). A request that comes again later is taken as new. */
  IDEMPOTENCY_TTL_DAYS: z.coerce.number().min(0).max(3650).default(30),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  VERIFY_RATE_LIMIT: z.coerce.number().int().min(1).default(30),
  TRUST_PROXY: trustProxy.optional(),
  BODY_LIMIT: z.string().default("5mb"),
  /** Map nodes kept in memory by the map's updater (map-store.ts says what the default buys). */
  MAP_CACHE_NODES: z.coerce.number().int().min(1000).max(100_000_000).default(MAP_CACHE_NODES),
  /** Whether verification bundles are built on a thread of their own beside the HTTP thread (bundle-thread.ts). */
  VERIFY_THREAD: z.enum(["on", "off"]).default("on"),
  MAP_THREAD: z.enum(["on", "off"]).default("on"),
});

export type Config = z.infer<typeof configSchema>;

/** `npm start -- --help`: each variable, what it holds, its default (README, Configuration, says more). */
export const CONFIG_HELP: Record<keyof Config, string> = {
  PORT: "HTTP port (8080)",
  HOST: "HTTP listen address (127.0.0.1)",
  DATA_DIR: "LevelDB ledger, secrets, embedded chain state (./data)",
  ORIGIN: "the log's origin, first line of its checkpoints (keyproof.localhost/log)",
  OPERATOR_TOKEN: "the operator's API token (generated on first start, shown once)",
  SIGNING_KEY: "Ed25519 seed of the checkpoint key, 64 hex (generated in DATA_DIR/secrets)",
  PEPPER: "HMAC pepper of the code index, 64 hex (generated in DATA_DIR/secrets)",
  RPC_URL: "anchor on this chain's JSON-RPC (an embedded anvil chain)",
  PUBLIC_RPC_URL: "the read-only RPC URL browsers get (RPC_URL when it has no path, query or user part)",
  CHAIN_PRIVATE_KEY: "the key that deploys and anchors, 64 hex (anvil's first dev account)",
  CONTRACT: "an anchor contract already deployed (deployed on first start)",
  CHAIN_PORT: "port of the embedded chain (8545)",
  ANCHOR_INTERVAL: "seconds between anchoring rounds; 0: only on POST /v1/anchor (30)",
  ANCHORING: "on | off: off runs without any chain (on)",
  CONFIRMATIONS: "confirmations before an anchor counts (1)",
  ANCHOR_TX_TIMEOUT: "seconds before an unmined anchor is sent again with higher fees (300)",
  ANCHOR_MAX_FEE_GWEI: "the highest fee per gas an anchor offers, in gwei (no ceiling)",
  IDEMPOTENCY_TTL_DAYS: "days an Idempotency-Key's answer is kept; 0: forever (30)",
  LOG_LEVEL: "pino level (info)",
  VERIFY_RATE_LIMIT: "POST /v1/verify requests per minute per client address (30)",
  TRUST_PROXY: "behind a reverse proxy: its hop count or addresses, whose X-Forwarded-For gives the client address (none)",
  BODY_LIMIT: "largest JSON body accepted (5mb)",
  MAP_CACHE_NODES: `map nodes cached in memory, 270-540 bytes each (${MAP_CACHE_NODES})`,
  VERIFY_THREAD: "on | off: build verification bundles on a thread of their own, beside the HTTP thread (on)",
  MAP_THREAD: "on | off: update the sparse Merkle map on a thread of its own, beside the HTTP thread (on)",
};

/** Parses the environment; a bad value names its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const r = configSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  return r.data;
}

/** The first development account of anvil and Hardhat (public knowledge: for local chains only). */
export const DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
