import { createServer, type Server } from "node:net";

// Below Linux's ephemeral range (32768–60999): a random port inside it could be
// the local end of some connection (a CI run had anvil refused its port so),
// and a chain that is stopped and started again on its port must find it free.
const LOW = 20_000;
const HIGH = 32_768;

/** Listens on `port` of 127.0.0.1 and hangs up on whoever connects, so that closing it never waits. */
export function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((socket) => socket.destroy());
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}

export function releasePort(s: Server): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

/** A port on 127.0.0.1 that nothing listens on now, outside the range the OS hands to outgoing connections. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    const held = await holdPort(port).catch(() => null);
    if (held) {
      await releasePort(held);
      return port;
    }
  }
}
