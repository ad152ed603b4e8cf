/**
 * JSON-RPC URLs of hosted nodes carry their API key (in the path, the query
 * or the user part), and ethers puts the URL of a failed request in its error
 * message (`info={"requestUrl": …}`). Whatever the service logs or answers
 * about the chain, and whatever the tools print, goes through here first: a
 * URL keeps its scheme, host and port, enough to tell which node failed.
 */

import { messageOf } from "../core/errors.js";

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()[\]{},]+/gi;

/** Nothing past scheme, host and port: no user part, path, query or fragment. */
function bare(u: URL): boolean {
  return u.username === "" && u.password === "" && u.pathname.replace(/\/+$/, "") === "" && u.search === "" && u.hash === "";
}

/** Whether a URL is only scheme, host and port: nothing in it can be a key. */
export function isBareUrl(url: string): boolean {
  const u = URL.parse(url);
  return u !== null && bare(u);
}

/** `https://host:port` of a URL, with "/…" when anything past it was dropped. */
export function redactUrl(url: string): string {
  const u = URL.parse(url);
  if (u === null) return "<url>";
  return `${u.protocol}//${u.host}${bare(u) ? "" : "/…"}`;
}

/** `text` with every URL in it redacted. */
export function redactUrls(text: string): string {
  return text.replace(URL_IN_TEXT, redactUrl);
}

/** Hex longer than a hash (32 bytes): a signed transaction, calldata, revert data. */
const LONG_HEX = /0x[0-9a-fA-F]{80,}/g;

/**
 * An error's message, fit for a log line or an answer: URLs redacted, and
 * long hex cut to its first bytes and length (ethers quotes whole signed
 * transactions and calldata, hundreds of characters, in its messages).
 */
export function errorText(e: unknown): string {
  return redactUrls(messageOf(e)).replace(LONG_HEX, (hex) => `${hex.slice(0, 10)}…(${Math.floor((hex.length - 2) / 2)} bytes)`);
}
