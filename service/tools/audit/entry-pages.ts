/**
 * Streams a log's entries in order through `GET /v1/entries`, a few pages in
 * flight at once. A page is taken only as far as its indices run on from the
 * last one; when the log stops answering with the next entries, the stream
 * ends early and says where the gap begins.
 */
import type { KeyProofApi } from "../../client/api.js";

export const PAGE = 1000;

export interface EntryPage {
  start: number;
  entries: string[];
}

export interface EntryStream {
  pages: AsyncGenerator<EntryPage>;
  /** Set once the stream has ended: the first index the log did not serve, or null when all were. */
  missingFrom(): number | null;
  missingReason(): string;
}

export function streamEntries(api: KeyProofApi, end: number, inFlight = 4): EntryStream {
  let missing: number | null = null;
  let reason = "";
  const fetchPage = (start: number, stop = Math.min(end, start + PAGE)): Promise<{ index: number; entry: string }[] | Error> =>
    api.entries(start, stop).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));

  /** A refused range may still have a served prefix (a log cut short): halve the ask until it answers. */
  async function servedPrefix(pos: number, stop: number, refusal: Error): ReturnType<typeof fetchPage> {
    for (let len = (stop - pos) >> 1; len > 0; len >>= 1) {
      const retry = await fetchPage(pos, pos + len);
      if (!(retry instanceof Error)) return retry;
    }
    return refusal;
  }

  async function* pages(): AsyncGenerator<EntryPage> {
    const queue: { start: number; answer: ReturnType<typeof fetchPage> }[] = [];
    let next = 0;
    const fill = (): void => {
      while (queue.length < inFlight && next < end) {
        queue.push({ start: next, answer: fetchPage(next) });
        next += PAGE;
      }
    };
    let pos = 0;
    fill();
    while (pos < end) {
      const head = queue.shift();
      if (!head) break;
      let answer = await head.answer;
      const pageEnd = Math.min(end, head.start + PAGE);
      if (answer instanceof Error) answer = await servedPrefix(pos, pageEnd, answer);
      // A short page (the log may cap pages lower): ask again from where it stopped.
      while (!(answer instanceof Error)) {
        const run: string[] = [];
        for (const e of answer) {
          if (e.index !== pos + run.length) break;
          run.push(e.entry);
        }
        if (run.length > 0) {
          yield { start: pos, entries: run };
          pos += run.length;
        }
        if (pos >= pageEnd) break;
        if (run.length === 0) {
          answer = new Error(`asked for entries from ${pos}, got ${answer.length === 0 ? "none" : `index ${answer[0]!.index}`}`);
          break;
        }
        answer = await fetchPage(pos, pageEnd);
        if (answer instanceof Error) answer = await servedPrefix(pos, pageEnd, answer);
      }
      if (answer instanceof Error) {
        missing = pos;
        reason = answer.message;
        return;
      }
      fill();
    }
    if (pos < end) {
      missing = pos;
      reason = "the log ended early";
    }
  }
  return { pages: pages(), missingFrom: () => missing, missingReason: () => reason };
}
