/** Salts drawn from the CSPRNG 1,024 at a time: one syscall per 32 KiB instead of one per key. */
import { randomBytes } from "node:crypto";

export class SaltPool {
  private pool = new Uint8Array(0);
  private offset = 0;

  /** A fresh 32-byte salt. */
  next(): Uint8Array {
    if (this.offset === this.pool.length) {
      this.pool = new Uint8Array(randomBytes(32 * 1024));
      this.offset = 0;
    }
    const salt = this.pool.slice(this.offset, this.offset + 32);
    this.offset += 32;
    return salt;
  }
}
