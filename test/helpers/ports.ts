import { createServer } from "node:net";

// Below Linux's ephemeral range (32768–60999): a random port inside it could be
// the local end of some connection (a CI run had anvil refused its port so),
// and a chain that is stopped and started again on its port must find it free.
const LOW = 20_000;
const HIGH = 32_768;

/** A port on 127.0.0.1 that nothing listens on now, outside the range the OS hands to outgoing connections. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
