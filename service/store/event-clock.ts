/**
 * The time of each event: the service's clock, but never before the newest
 * time recorded, so that times in the log never go backwards (auditors flag
 * TIME_BACKWARDS). A clock set back, or one that had run ahead and was
 * corrected, therefore freezes event times at the newest one until it
 * passes it, which the operator is told of (docs/protocol-choices.md,
 * Sequencing).
 */

/** A clock this far behind the newest recorded time is reported (smaller steps are NTP's slewing and harmless). */
const CLOCK_SLACK_MS = 1000;
/** Reported at most this often while it stays behind. */
const CLOCK_NOTICE_MS = 60_000;

export type ClockBehind = (info: { clock: string; recorded: string }) => void;

export class EventClock {
  private noticed = -Infinity;

  /** `newest`: the newest time recorded (ISO 8601, as toISOString writes it). */
  constructor(
    private newest: string,
    private readonly now: () => Date,
    private readonly onBehind?: ClockBehind,
  ) {}

  /** The newest time handed out, which the ledger records with the log. */
  get newestTime(): string {
    return this.newest;
  }

  /** The time of the next event. */
  next(): string {
    const now = this.now();
    const t = now.toISOString();
    if (t > this.newest) this.newest = t;
    else if (this.onBehind && Date.parse(this.newest) - now.getTime() > CLOCK_SLACK_MS) {
      const at = performance.now();
      if (at - this.noticed >= CLOCK_NOTICE_MS) {
        this.noticed = at;
        this.onBehind({ clock: t, recorded: this.newest });
      }
    }
    return this.newest;
  }
}
