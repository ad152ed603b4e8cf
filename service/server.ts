/**
 * Wires the service together: secrets, ledger, chain (embedded anvil unless
 * RPC_URL is set), anchoring worker and HTTP server. `startService` is what
 * `npm start` and the tests run.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import pino, { type Logger } from "pino";
import { Anchorer, forgetUnheldAnchors } from "./chain/anchorer.js";
import { startAnvil, type EmbeddedChain } from "./chain/anvil.js";
import type { AnchorClient } from "./chain/contract.js";
import { ensureDeployment } from "./chain/deployment.js";
import { gweiToWei } from "./chain/fees.js";
import { errorText, isBareUrl, redactUrl } from "./chain/redact.js";
import { DEV_PRIVATE_KEY, type Config } from "./config.js";
import { logIdOf } from "./core/bundle/verify.js";
import { BundleThread } from "./bundle-thread.js";
import { createApp } from "./http/app.js";
import { WEB_DIST } from "./web/paths.js";
import { Ledger } from "./store/ledger.js";
import { loadSecrets } from "./store/secrets.js";

export interface RunningService {
  url: string;
  ledger: Ledger;
  anchorer: Anchorer | null;
  chain: EmbeddedChain | null;
  rpcUrl: string | null;
  contract: () => string | null;
  /** The operator token when it was generated on this start (shown once). */
  operatorToken: string | null;
  stop(): Promise<void>;
}

/** How often expired Idempotency-Key answers are forgotten (IDEMPOTENCY_TTL_DAYS). */
const SWEEP_INTERVAL_MS = 3_600_000;

function normHex(h: string | undefined): string | undefined {
  return h === undefined ? undefined : h.replace(/^0x/, "").toLowerCase();
}

export async function startService(config: Config, log: Logger = pino({ level: config.LOG_LEVEL })): Promise<RunningService> {
  const dataDir = path.resolve(config.DATA_DIR);
  const secrets = loadSecrets(dataDir, { signingKey: normHex(config.SIGNING_KEY), pepper: normHex(config.PEPPER) });
  const ledger = await Ledger.open({
    dir: path.join(dataDir, "ledger"),
    origin: config.ORIGIN,
    signingSeed: secrets.signingSeed,
    pepper: secrets.pepper,
    mapCacheSize: config.MAP_CACHE_NODES,
    mapThread: config.MAP_THREAD === "on",
    onClockBehind: ({ clock, recorded }) =>
      log.warn(
        { clock, recorded },
        "the system clock reads earlier than the newest event time recorded: new events carry that time until the clock passes it (check the clock and NTP)",
      ),
  });

  let chain: EmbeddedChain | null = null;
  let anchorer: Anchorer | null = null;
  let provider: JsonRpcProvider | null = null;
  let server: Server | null = null;
  let sweeper: NodeJS.Timeout | null = null;
  let sweeping: Promise<unknown> = Promise.resolve();
  let bundles: BundleThread | null = null;
  // What the service holds, given back by `stop` and by a start that fails
  // part way (an embedded chain left running would hold its port against the
  // next start).
  const release = async (): Promise<void> => {
    const listening = server;
    if (listening) {
      await new Promise<void>((r) => {
        listening.close(() => r());
        listening.closeAllConnections();
      });
    }
    if (sweeper) clearInterval(sweeper);
    await sweeping; // before the ledger closes under it
    await anchorer?.stop();
    provider?.destroy();
    await bundles?.close(); // its replica shares the ledger's store
    await ledger.close(); // finishes the running batch first
    await chain?.stop();
  };
  const orRelease = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (e) {
      await release().catch(() => undefined);
      throw e;
    }
  };

  const logId = logIdOf(config.ORIGIN);
  let rpcUrl: string | null = null;
  let chainId: number | null = null;
  let contract: string | null = null;
  if (config.ANCHORING === "on") {
    if (config.RPC_URL) rpcUrl = config.RPC_URL;
    else {
      chain = await orRelease(() => startAnvil({ stateDir: path.join(dataDir, "chain"), port: config.CHAIN_PORT }));
      rpcUrl = chain.rpcUrl;
    }
    provider = new JsonRpcProvider(rpcUrl, undefined, { pollingInterval: 250, cacheTimeout: -1 });
    const wallet = new Wallet(config.CHAIN_PRIVATE_KEY ? `0x${normHex(config.CHAIN_PRIVATE_KEY)}` : DEV_PRIVATE_KEY, provider);
    const connect = async (): Promise<AnchorClient> => {
      const d = await ensureDeployment({ wallet, dataDir, origin: config.ORIGIN, logId, contract: config.CONTRACT, log });
      // A reset chain took its anchors with it (a redeployment may even reuse the address).
      if (d.vanished) await ledger.anchors.removeContract(d.chainId, d.vanished);
      chainId = d.chainId;
      contract = d.address;
      return d.client;
    };
    let connected: AnchorClient | undefined;
    try {
      connected = await connect();
      // Or a contract at the same address without them (deployed again, here or elsewhere):
      // forgotten before any bundle cites them. Each anchoring round checks again.
      await forgetUnheldAnchors({ ledger, logId, log }, connected);
    } catch (e) {
      log.warn({ err: errorText(e) }, "chain not reachable at start; anchoring will retry");
    }
    anchorer = new Anchorer({
      ledger,
      logId,
      get chainId() {
        return chainId ?? 0;
      },
      confirmations: config.CONFIRMATIONS,
      txTimeoutSeconds: config.ANCHOR_TX_TIMEOUT,
      maxFeePerGas: config.ANCHOR_MAX_FEE_GWEI === undefined ? undefined : gweiToWei(config.ANCHOR_MAX_FEE_GWEI),
      intervalSeconds: config.ANCHOR_INTERVAL,
      log,
      connect,
      client: connected,
    });
    if (config.ANCHOR_INTERVAL > 0) anchorer.start();
  }

  if (config.VERIFY_THREAD === "on") {
    bundles = await orRelease(() => BundleThread.start(ledger, { dir: path.join(dataDir, "ledger"), pepper: secrets.pepper, log }));
  }

  // Browsers get RPC_URL only when nothing in it can be an API key (docs/protocol-choices.md, "Verify page").
  const browserRpcUrl = config.PUBLIC_RPC_URL ?? (rpcUrl !== null && isBareUrl(rpcUrl) ? rpcUrl : null);
  if (rpcUrl !== null && browserRpcUrl === null) {
    log.warn(
      { rpcUrl: redactUrl(rpcUrl) },
      "RPC_URL has a path, query or user part (often an API key), so browsers are not given it: set PUBLIC_RPC_URL to a read-only endpoint for the verify page",
    );
  }
  const app = createApp({
    ledger,
    log,
    anchorer: () => anchorer,
    verifyRateLimit: config.VERIFY_RATE_LIMIT,
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.BODY_LIMIT,
    webRoot: WEB_DIST,
    bundles: bundles ?? undefined,
    info: () => ({
      origin: config.ORIGIN,
      verifierKey: ledger.verifierKey,
      logId,
      chainId,
      contract,
      rpcUrl: browserRpcUrl,
    }),
  });
  // Not app.listen: Express 5 hands a listen error to the callback, which
  // took it for success (a port in use gave a service that served nothing).
  server = await orRelease(
    () =>
      new Promise<Server>((resolve, reject) => {
        const s = createServer(app);
        s.once("error", reject);
        s.listen(config.PORT, config.HOST, () => {
          s.off("error", reject);
          resolve(s);
        });
      }),
  );
  // Last: a generated token is shown once by the caller of a start that
  // succeeded, so none may be stored by a start that then fails.
  const operatorToken = await orRelease(async (): Promise<string | null> => {
    if (config.OPERATOR_TOKEN) await ledger.tokens.bindOperator(config.OPERATOR_TOKEN);
    else if (!(await ledger.tokens.hasOperator())) {
      const token = randomBytes(32).toString("base64url");
      await ledger.tokens.bindOperator(token);
      return token;
    }
    return null;
  });
  if (config.IDEMPOTENCY_TTL_DAYS > 0) {
    const ttlMs = config.IDEMPOTENCY_TTL_DAYS * 86_400_000;
    const sweep = (): void => {
      sweeping = ledger
        .forgetReplaysBefore(new Date(Date.now() - ttlMs))
        .then((n) => n > 0 && log.info({ forgotten: n, days: config.IDEMPOTENCY_TTL_DAYS }, "forgot expired Idempotency-Key answers"))
        .catch((e: unknown) => log.warn({ err: errorText(e) }, "could not expire Idempotency-Key answers"));
    };
    sweep();
    sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
    sweeper.unref();
  }
  const addr = server.address();
  const url = `http://${config.HOST}:${typeof addr === "object" && addr ? addr.port : config.PORT}`;
  log.info(
    {
      url,
      origin: config.ORIGIN,
      signingKey: secrets.sources.signingKey,
      pepper: secrets.sources.pepper,
      rpcUrl: rpcUrl && redactUrl(rpcUrl),
      contract,
    },
    "KeyProof is serving",
  );

  let stopping: Promise<void> | null = null;
  return {
    url,
    ledger,
    anchorer,
    chain,
    rpcUrl,
    contract: () => contract,
    operatorToken,
    stop() {
      stopping ??= release();
      return stopping;
    },
  };
}
