/** What the process holds after garbage collection: the benchmarks that report memory per item. */
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

/** Bytes of JavaScript heap and array buffers held, after two full collections (exposes `gc` on first use). */
export function heldBytes(): number {
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
