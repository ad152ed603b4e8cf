/**
 * The buyer's verify page. Asks the service for the evidence bundle, then
 * checks it here, in the browser, with the same verifier the service and the
 * CLI use — and, when the chain's RPC answers, against the on-chain anchor.
 * The code is sent in a POST body only: never in a URL, never stored.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { z } from "zod";
import { toHex, utf8 } from "../../core/bytes.js";
import { displayName, namedIds, provedNames } from "../../core/bundle/participant.js";
import { ethAddress } from "../../core/bundle/schema.js";
import { txReaderOver, type TxReader } from "../../core/bundle/anchor-tx.js";
import { messageOf } from "../../core/errors.js";
import { verifyBundle, type AnchorReader, type BundleReport, type Check, type KeyFacts } from "../../core/bundle/verify.js";
import { CHECK_WORDS, DETAIL_WORDS, STATUS_WORDS, WORDS, fill, pickLanguage, type Lang } from "./i18n.js";

type Outcome =
  | { kind: "report"; report: BundleReport; order: string; names: Map<string, string> }
  | { kind: "unknown" }
  | { kind: "rateLimited" }
  | { kind: "error"; message: string };

/** What the page takes from GET /v1/log: where to read the chain. Anything else there is read as absent. */
const logInfoSchema = z.object({
  rpcUrl: z
    .string()
    .regex(/^https?:\/\//)
    .nullable()
    .catch(null),
  contract: ethAddress.nullable().catch(null),
});
type LogInfo = z.infer<typeof logInfoSchema>;
const NO_CHAIN: LogInfo = { rpcUrl: null, contract: null };
// The API beside the page, as its assets are: served under a path prefix by a
// reverse proxy (https://shop.example/keyproof/), the page still finds it.
const api = (p: string): string => new URL(p, document.baseURI).href;
const fetchLogInfo = (): Promise<LogInfo> =>
  fetch(api("v1/log"))
    .then((r) => r.json())
    .then((v: unknown) => logInfoSchema.catch(NO_CHAIN).parse(v));

// checkpointAt(bytes32,uint64) through a bare eth_call: the page needs one
// read-only call, not an Ethereum library.
const CHECKPOINT_AT = toHex(keccak_256(utf8("checkpointAt(bytes32,uint64)")).slice(0, 4));
const CHAIN_TIMEOUT_MS = 6000;
const ANSWER_RE = /^0x[0-9a-f]{192}$/i;

let lang: Lang = pickLanguage(navigator.languages ?? [navigator.language]);
let last: Outcome | null = null;
let logInfo: Promise<LogInfo> = fetchLogInfo().catch(() => NO_CHAIN);

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

/** One JSON-RPC call to the log's chain; its result as it came. */
async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(CHAIN_TIMEOUT_MS),
  });
  const answer = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (answer.result === undefined) throw new Error(answer.error?.message ?? "unexpected answer from the chain");
  return answer.result;
}

function anchorReader(info: LogInfo, contract: string): AnchorReader | undefined {
  const url = info.rpcUrl;
  if (!url) return undefined;
  return async (logId, size) => {
    const data = `0x${CHECKPOINT_AT}${logId.slice(2)}${size.toString(16).padStart(64, "0")}`;
    const result = await rpc(url, "eth_call", [{ to: contract, data }, "latest"]);
    if (typeof result !== "string" || !ANSWER_RE.test(result)) throw new Error("unexpected answer from the chain");
    return { logRoot: `0x${result.slice(2, 66)}`, mapRoot: `0x${result.slice(66, 130)}` };
  };
}

/** Reads of the transaction a bundle's anchor names; the core judges what they answer (anchor-tx.ts). */
function txReader(info: LogInfo): TxReader | undefined {
  const url = info.rpcUrl;
  return url ? txReaderOver((method, params) => rpc(url, method, params)) : undefined;
}

async function check(code: string, order: string): Promise<Outcome> {
  const res = await fetch(api("v1/verify"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(order ? { code, order } : { code }),
    cache: "no-store",
  });
  if (res.status === 429) return { kind: "rateLimited" };
  const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (res.status === 404 && body?.error?.code === "UNKNOWN_KEY") return { kind: "unknown" };
  if (!res.ok) return { kind: "error", message: body?.error?.message ?? `HTTP ${res.status}` };
  const info = await logInfo;
  const named = ethAddress.safeParse((body as { log?: { contract?: unknown } }).log?.contract);
  const bundleContract = named.success ? named.data : info.contract;
  const readAnchor = bundleContract ? anchorReader(info, bundleContract) : undefined;
  const readTx = readAnchor ? txReader(info) : undefined;
  const report = await verifyBundle(body, {
    code,
    ...(order ? { order } : {}),
    ...(readAnchor ? { readAnchor } : {}),
    ...(readTx ? { readTx } : {}),
  });
  return { kind: "report", report, order, names: await participantNames(report) };
}

/**
 * The names of the participants a verified bundle names by id, each proved
 * from its registration in the log at the bundle's checkpoint. An id whose
 * name cannot be proved (an older service, a slow answer, a bad proof) is
 * shown as the bare id the bundle holds.
 */
async function participantNames(report: BundleReport): Promise<Map<string, string>> {
  const f = report.facts;
  const cp = report.checkpoint;
  if (!f || !cp) return new Map();
  const ask = async (id: string, size: bigint): Promise<unknown> => {
    const res = await fetch(api(`v1/participants/${encodeURIComponent(id)}?size=${size}`), {
      signal: AbortSignal.timeout(CHAIN_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  return (await provedNames(namedIds(f), cp, ask)).names;
}

/** Whether a key can still be used, and if not why: the badge and the warning say the same. */
function usability(f: KeyFacts): "unused" | "redeemed" | "void" | "expired" {
  return f.status === "redeemed" ? "redeemed" : f.status === "void" ? "void" : f.expired ? "expired" : "unused";
}

function statusBadge(report: BundleReport): HTMLElement | null {
  const f = report.facts;
  if (!f) return null;
  const key = usability(f);
  return el("span", { className: `badge ${key}`, textContent: WORDS[lang][key] });
}

/** A time in the buyer's language and time zone (the evidence file keeps the exact UTC one). */
function when(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  // (dateStyle cannot be combined with timeZoneName.)
  return t.toLocaleString(lang, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });
}

/**
 * Why a genuine key can no longer be used, or null. Being sold a used key is
 * the scam the page exists for: said in words, not only by the badge.
 */
function unusableWarning(f: KeyFacts): string | null {
  const w = WORDS[lang];
  switch (usability(f)) {
    case "redeemed":
      return fill(w.redeemedWarning, { time: f.redeemedAt ? when(f.redeemedAt) : "" });
    case "void":
      return fill(w.voidWarning, { time: f.voided ? when(f.voided.time) : "", reason: f.voided?.reason ?? "" });
    case "expired":
      return fill(w.expiredWarning, { time: f.expires ? when(f.expires) : "" });
    case "unused":
      return null;
  }
}

/** A check's detail in the page's language; an error's own text as it is, marked as such. */
function detailOf(c: Check): string {
  if (!c.said) return fill(WORDS[lang].technical, { detail: c.detail });
  const values = { ...c.said.values };
  const status = values.status as keyof (typeof STATUS_WORDS)[Lang] | undefined;
  if (status !== undefined && status in STATUS_WORDS[lang]) values.status = STATUS_WORDS[lang][status];
  return fill(DETAIL_WORDS[lang][c.said.key], values);
}

function checkItem(c: Check): HTMLElement {
  const [pass, fail] = CHECK_WORDS[lang][c.id];
  const cls = c.ok === true ? "pass" : c.ok === false ? "fail" : "skip";
  const mark = c.ok === true ? "✓" : c.ok === false ? "✗" : "–";
  const line = c.ok === false ? fail : pass;
  return el(
    "li",
    { className: cls },
    el("span", { className: "mark", textContent: mark }),
    c.ok === null ? "" : line,
    el("small", { textContent: detailOf(c) }),
  );
}

/**
 * Renders `o`, or the error if rendering fails part way: a green verdict
 * must never stand above details that were not drawn.
 */
function show(o: Outcome): void {
  try {
    render(o);
  } catch (e) {
    render({ kind: "error", message: messageOf(e) });
  }
}

function render(o: Outcome): void {
  const w = WORDS[lang];
  const box = $("result");
  box.hidden = false;
  box.replaceChildren();
  if (o.kind === "unknown") {
    box.append(el("div", { className: "verdict unknown", textContent: w.notRegistered }), el("p", { textContent: w.notRegisteredHelp }));
    return;
  }
  if (o.kind === "rateLimited") {
    box.append(el("p", { className: "notice", textContent: w.rateLimited }));
    return;
  }
  if (o.kind === "error") {
    box.append(el("p", { className: "notice", textContent: fill(w.error, { message: o.message }) }));
    return;
  }
  const { report } = o;
  // A wrong order number does not make the record false: the key is genuine,
  // and the mismatch is shown beside the sale.
  const genuine = report.checks.every((c) => c.id === "order" || c.ok !== false);
  const verdict = el("div", { className: `verdict ${genuine ? "good" : "bad"}` }, genuine ? w.genuine : w.failed);
  const badge = genuine ? statusBadge(report) : null;
  if (badge) verdict.append(badge);
  box.append(verdict);
  if (!genuine) box.append(el("p", { textContent: w.failedHelp }));
  // The buyer's question is whether the key was sold to them: a sale to
  // another order, or none at all, is said here, not only in the list below.
  const f = report.facts;
  if (genuine && o.order && f?.orderMatches === false)
    box.append(el("p", { className: "notice warning", textContent: f.sale ? w.orderElsewhere : w.orderUnsold }));
  const unusable = f && genuine ? unusableWarning(f) : null;
  if (unusable) box.append(el("p", { className: "notice warning", textContent: unusable }));

  if (f && genuine) {
    const dl = el("dl");
    const row = (k: string, v: string) => dl.append(el("dt", { textContent: k }), el("dd", { textContent: v }));
    const named = (id: string): string => displayName(id, o.names);
    row(w.issuer, named(f.issuer));
    row(w.sku, f.sku);
    if (f.face) row(w.face, f.face);
    if (f.batch) row(w.batch, f.batch);
    if (f.expires) row(w.expires, when(f.expires));
    row(w.issuedAt, when(f.issuedAt));
    if (f.transfers.length) row(w.transfers, f.transfers.map((t) => `${named(t.to)}, ${when(t.time)}`).join(" → "));
    row(w.soldBy, f.sale ? `${named(f.sale.seller)} ${w.at} ${when(f.sale.time)}` : w.notSold);
    if (f.redeemedAt) row(w.redeemedAt, when(f.redeemedAt));
    if (f.voided) row(w.voided, `${named(f.voided.by)} ${w.at} ${when(f.voided.time)}: ${f.voided.reason}`);
    if (o.order) row(w.order, `${o.order} — ${f.orderMatches ? w.orderMatch : w.orderNoMatch}`);
    box.append(dl);
  }

  box.append(el("h2", { textContent: w.checks }), el("ul", { className: "checks" }, ...report.checks.map(checkItem)));
  const anchor = report.bundle?.anchor;
  if (report.bundle) {
    // The bundle's word on its anchor, said as a fact only where the chain did
    // not contradict it, and with the block the chain has it in, where a
    // reorganisation moved it.
    const anchorCheck = report.checks.find((c) => c.id === "anchor");
    if (anchorCheck?.ok !== false) {
      const minedIn = anchorCheck?.said?.values?.minedIn;
      box.append(
        el("p", {
          className: "anchor",
          textContent: anchor ? fill(w.anchored, { block: minedIn ?? anchor.blockNumber, tx: anchor.txHash }) : w.pending,
        }),
      );
    }
    const bundle = report.bundle;
    const download = el("button", { id: "download", type: "button", textContent: w.download });
    download.addEventListener("click", () => {
      const blob = new Blob([JSON.stringify(bundle, null, 2)], { type: "application/json" });
      const a = el("a", { href: URL.createObjectURL(blob), download: `keyproof-evidence-${bundle.key.commitment.slice(0, 12)}.json` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    });
    box.append(download);
  }
}

function applyLanguage(): void {
  const w = WORDS[lang];
  document.documentElement.lang = lang;
  document.title = `KeyProof — ${w.title}`;
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
    node.textContent = w[node.dataset.i18n as keyof typeof w];
  }
  $("lang").textContent = lang === "en" ? "中文" : "English";
  if (last) show(last);
}

$("lang").addEventListener("click", () => {
  lang = lang === "en" ? "zh-CN" : "en";
  applyLanguage();
});

$("form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const code = $<HTMLInputElement>("code").value;
  const order = $<HTMLInputElement>("order").value.trim();
  const button = $<HTMLButtonElement>("submit");
  button.disabled = true;
  button.textContent = WORDS[lang].verifying;
  check(code, order)
    .catch((e: unknown): Outcome => ({ kind: "error", message: messageOf(e) }))
    .then((o) => {
      last = o;
      show(o);
    })
    .finally(() => {
      button.disabled = false;
      button.textContent = WORDS[lang].verify;
      // Retry fetching the log's chain details if the first try failed.
      logInfo = logInfo.then((i) => (i.rpcUrl || i.contract ? i : fetchLogInfo().catch(() => NO_CHAIN)));
    });
});

applyLanguage();
document.body.dataset.ready = "true";
