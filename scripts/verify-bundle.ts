/**
 * Verifies a KeyProof evidence bundle offline, with the same verifier as the
 * buyer's browser; optionally also against the chain through an RPC URL.
 *
 *   npm run verify-bundle -- evidence.json --code XXXX-XXXX [--order REF] [--rpc-url URL]
 *                            [--verifier-key KEY] [--contract 0x…] [--log URL]
 *
 * A bundle names its own log (verifier key, anchor contract): anyone can run
 * a log and anchor it on a contract of their own. In a dispute, pin the
 * platform's published values; without them the output prints the bundle's.
 *
 * Exit codes: 0 verified, 1 verification failed, 2 bad usage or unreadable file.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { z } from "zod";
import { bundleLogSchema, ETH_ADDRESS } from "../service/core/bundle/schema.js";
import { displayName, namedIds, provedNames } from "../service/core/bundle/participant.js";
import { verifyBundle, type AnchorReader } from "../service/core/bundle/verify.js";
import { txReaderOver, type TxReader } from "../service/core/bundle/anchor-tx.js";
import { KeyProofApi } from "../service/client/api.js";
import { AnchorClient } from "../service/chain/contract.js";
import { errorText } from "../service/chain/redact.js";
import { fail, parseOptions } from "./cli.js";
import { JsonRpcProvider, Network } from "ethers";

const program = new Command("verify-bundle")
  .description("Verify a KeyProof evidence bundle (SPEC §9) offline, and optionally against the chain.")
  .argument("<file>", "the evidence bundle (JSON) downloaded from the verify page or POST /v1/verify")
  .requiredOption("--code <code>", "the card key the bundle is about (never stored or printed)")
  .option("--order <ref>", "your order reference, to check the sale")
  .option(
    "--rpc-url <url>",
    "also check, through this JSON-RPC endpoint, the roots the bundle's contract holds at its size (checkpointAt) and the anchor transaction the bundle names (its receipt, or its block)",
  )
  .option("--verifier-key <key>", "the log's verifier key as the platform publishes it: the bundle must be signed under it")
  .option("--contract <address>", "the platform's anchor contract: the bundle must name it")
  .option("--log <url>", "also name the issuer and sellers: each name proved from its registration in this log at the bundle's checkpoint")
  .option("--json", "print the full report as JSON");

const options = z.object({
  code: z.string().min(1),
  order: z.string().min(1).max(256).optional(),
  rpcUrl: z.url().optional(),
  verifierKey: z.string().min(1).optional(),
  contract: z.string().regex(ETH_ADDRESS, "--contract is not an Ethereum address").optional(),
  log: z.url().optional(),
  json: z.boolean().optional(),
});

async function main(): Promise<void> {
  const o = parseOptions(program, options);
  const file = program.args[0]!;
  let bundle: unknown;
  try {
    bundle = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    fail(`cannot read ${file}: ${errorText(e)}`);
  }
  let provider: JsonRpcProvider | undefined;
  let readAnchor: AnchorReader | undefined;
  let readTx: TxReader | undefined;
  // Read with the bundle's own rules (a chain and a contract together): a bundle that breaks them fails its format check below.
  const named = bundleLogSchema.safeParse((bundle as { log?: unknown } | null)?.log);
  if (o.rpcUrl && named.success && named.data.contract !== null && named.data.chainId !== null) {
    const { contract, chainId: chain } = named.data;
    // The bundle names its chain: no network detection (whose retries ethers prints on stdout, into --json output).
    const rpc = new JsonRpcProvider(o.rpcUrl, Network.from(chain), { staticNetwork: true });
    provider = rpc;
    const client = new AnchorClient(contract, rpc);
    // Printed in the anchor check: an RPC URL may hold an API key.
    const redacted =
      <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        try {
          return await read(...args);
        } catch (e) {
          throw new Error(errorText(e), { cause: e });
        }
      };
    readAnchor = redacted(async (logId: string, size: bigint) => {
      const served: unknown = await rpc.send("eth_chainId", []);
      if (typeof served !== "string" || !/^0x[0-9a-f]+$/i.test(served)) throw new Error("the RPC answered eth_chainId with no chain id");
      if (Number(served) !== chain) throw new Error(`the RPC serves chain ${Number(served)}, the bundle's anchor is on chain ${chain}`);
      return client.checkpointAt(logId, size);
    });
    // Asked only once readAnchor has checked the chain's id, in the same verification.
    readTx = txReaderOver(redacted((method: string, params: unknown[]) => rpc.send(method, params)));
  }
  try {
    const trusted = { ...(o.verifierKey ? { verifierKey: o.verifierKey } : {}), ...(o.contract ? { contract: o.contract } : {}) };
    const report = await verifyBundle(bundle, {
      code: o.code,
      trusted,
      ...(o.order ? { order: o.order } : {}),
      ...(readAnchor ? { readAnchor } : {}),
      ...(readTx ? { readTx } : {}),
    });
    // Names only for a bundle that verified: an unproved record names no one.
    const logApi = o.log ? new KeyProofApi(o.log, { attempts: 2, timeoutMs: 15_000 }) : undefined;
    const named =
      logApi && report.ok && report.facts && report.checkpoint
        ? await provedNames(namedIds(report.facts), report.checkpoint, (id, size) => logApi.participant(id, size))
        : undefined;
    const who = (id: string): string => displayName(id, named?.names);
    if (o.json)
      console.log(
        JSON.stringify(
          {
            ok: report.ok,
            checks: report.checks,
            facts: report.facts ?? null,
            log: report.bundle?.log ?? null,
            ...(named ? { names: Object.fromEntries(named.names), unprovedNames: Object.fromEntries(named.unproved) } : {}),
          },
          null,
          2,
        ),
      );
    else {
      for (const c of report.checks)
        console.log(`${c.ok === true ? "PASS" : c.ok === false ? "FAIL" : "----"}  ${c.id.padEnd(10)} ${c.detail}`);
      const f = report.facts;
      if (f) {
        console.log("");
        console.log(`key: ${f.status}${f.expired ? " (expired)" : ""}, issued by ${who(f.issuer)} (${f.sku}) at ${f.issuedAt}`);
        for (const t of f.transfers) console.log(`passed from ${who(t.from)} to ${who(t.to)} at ${t.time}`);
        if (f.sale) console.log(`sold by ${who(f.sale.seller)} at ${f.sale.time}`);
        if (named) {
          for (const [id, why] of named.unproved) console.log(`name of ${id} not proved from ${o.log}: ${why}`);
          if (named.names.size > 0) console.log(`names proved from their registrations in ${o.log} at size ${report.checkpoint!.size}`);
        }
      }
      const log = report.bundle?.log;
      if (log && (!o.verifierKey || (log.contract !== null && !o.contract))) {
        // A bundle vouches for its own log: who runs it is for the reader to check.
        console.log("");
        console.log(`log: ${log.verifierKey}, anchor contract ${log.contract ?? "(none)"} on chain ${log.chainId ?? "(none)"}`);
        console.log("     taken from the bundle: compare with what the platform publishes, or pass --verifier-key and --contract");
      }
      console.log("");
      console.log(report.ok ? "VERIFIED: the bundle proves this key's record." : "NOT VERIFIED: see the FAIL lines above.");
    }
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    provider?.destroy();
  }
}

main().catch((e: unknown) => fail(errorText(e)));
