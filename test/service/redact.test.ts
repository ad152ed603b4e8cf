/**
 * RPC URLs hold API keys: the service hands browsers only a bare one, and
 * whatever it logs or answers about a failing chain names the node by scheme,
 * host and port only.
 */
import { expect } from "chai";
import path from "node:path";
import pino from "pino";
import { errorText, isBareUrl, redactUrl, redactUrls } from "../../service/chain/redact.js";
import { configSchema } from "../../service/config.js";
import { startService } from "../../service/server.js";
import { startRefusingNode, waitFor } from "../helpers/anvil-rpc.js";
import { cleanup, tempDir } from "../helpers/ledger.js";

const SECRET = "k3y-0f-th3-h0st3d-n0d3-9f8e7d";
const OPERATOR = "operator-token-for-redaction-0123";

describe("RPC URLs in logs, answers and /v1/log", function () {
  this.timeout(60_000);
  const dir = tempDir("keyproof-redact-");
  after(() => cleanup(dir));

  it("keeps scheme, host and port of a URL and drops the rest, wherever it stands in a text", () => {
    expect(redactUrl(`https://mainnet.example.io/v3/${SECRET}`)).to.equal("https://mainnet.example.io/…");
    expect(redactUrl(`https://user:${SECRET}@node.example:8545`)).to.equal("https://node.example:8545/…");
    expect(redactUrl(`wss://node.example/ws?apikey=${SECRET}`)).to.equal("wss://node.example/…");
    expect(redactUrl("http://127.0.0.1:8545/")).to.equal("http://127.0.0.1:8545");
    expect(redactUrl("not a url")).to.equal("<url>");
    expect(isBareUrl("http://127.0.0.1:8545")).to.equal(true);
    expect(isBareUrl("http://127.0.0.1:8545/")).to.equal(true);
    expect(isBareUrl(`https://node.example/${SECRET}`)).to.equal(false);
    expect(isBareUrl(`https://node.example/?key=${SECRET}`)).to.equal(false);
    expect(isBareUrl(`https://${SECRET}@node.example`)).to.equal(false);
    // The shape of an ethers v6 error message.
    const message = `server response 401 Unauthorized (request={  }, info={ "requestUrl": "https://node.example/v3/${SECRET}", "responseStatus": "401" }, code=SERVER_ERROR)`;
    expect(redactUrls(message)).to.equal(
      'server response 401 Unauthorized (request={  }, info={ "requestUrl": "https://node.example/…", "responseStatus": "401" }, code=SERVER_ERROR)',
    );
    expect(errorText(new Error(`connect to http://h.example/${SECRET} failed`))).to.equal("connect to http://h.example/… failed");
    expect(errorText(`http://h.example/${SECRET}`)).to.equal("http://h.example/…");
    // A signed transaction or calldata is cut to its first bytes; a hash stays whole.
    const hash = `0x${"ab".repeat(32)}`;
    const signed = `0x02f901b3${"00".repeat(400)}`;
    expect(errorText(new Error(`already imported (tx ${hash}, transaction="${signed}")`))).to.equal(
      `already imported (tx ${hash}, transaction="0x02f901b3…(404 bytes)")`,
    );
  });

  it("never logs, answers or publishes a keyed RPC_URL; a bare one, or PUBLIC_RPC_URL, is what browsers get", async () => {
    const node = await startRefusingNode();
    const nodeHost = node.host;
    const lines: string[] = [];
    const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
    const start = (env: Record<string, string>) =>
      startService(
        configSchema.parse({
          PORT: "0",
          DATA_DIR: path.join(dir, "data"),
          OPERATOR_TOKEN: OPERATOR,
          ANCHOR_INTERVAL: "1",
          LOG_LEVEL: "debug",
          ...env,
        }),
        log,
      );
    try {
      const keyed = await start({ RPC_URL: `http://${nodeHost}/v3/${SECRET}` });
      try {
        const info = (await (await fetch(`${keyed.url}/v1/log`)).json()) as { rpcUrl: string | null };
        expect(info.rpcUrl).to.equal(null);
        const anchor = await fetch(`${keyed.url}/v1/anchor`, { method: "POST", headers: { authorization: `Bearer ${OPERATOR}` } });
        const answer = await anchor.text();
        expect(anchor.status).to.equal(503);
        expect(answer).to.contain(nodeHost);
        expect(answer).not.to.contain(SECRET);
        // The anchoring worker's own retries log their failure too.
        await waitFor("a logged anchoring failure", async () =>
          lines.some((l) => l.includes("anchoring failed; retrying")) ? true : undefined,
        );
      } finally {
        await keyed.stop();
      }
      const all = lines.join("");
      expect(all).to.contain("PUBLIC_RPC_URL");
      expect(all).to.contain(nodeHost);
      expect(all).not.to.contain(SECRET);

      const bare = await start({ RPC_URL: `http://${nodeHost}` });
      try {
        const info = (await (await fetch(`${bare.url}/v1/log`)).json()) as { rpcUrl: string | null };
        expect(info.rpcUrl).to.equal(`http://${nodeHost}`);
      } finally {
        await bare.stop();
      }
      const published = await start({ RPC_URL: `http://${nodeHost}/v3/${SECRET}`, PUBLIC_RPC_URL: "https://public-node.example/" });
      try {
        const info = (await (await fetch(`${published.url}/v1/log`)).json()) as { rpcUrl: string | null };
        expect(info.rpcUrl).to.equal("https://public-node.example/");
      } finally {
        await published.stop();
      }
    } finally {
      await node.close();
    }
  });
});
