/**
 * The stable error codes of SPEC §3 and §8. Clients branch on `code`; the
 * message is for people and may change.
 */
export const ERROR_CODES = [
  "UNKNOWN_KEY",
  "DUPLICATE_KEY",
  "DOUBLE_SALE",
  "ALREADY_REDEEMED",
  "KEY_VOID",
  "NOT_HOLDER",
  "NOT_ISSUER",
  "UNKNOWN_PARTICIPANT",
  "FORBIDDEN_ROLE",
  "INVALID_INPUT",
] as const;

export type LedgerErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: string;
  message: string;
}

export class KeyProofError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KeyProofError";
  }

  toJSON(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** The message of whatever was thrown: an Error's own, anything else as text. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function invalidInput(message: string): KeyProofError {
  return new KeyProofError("INVALID_INPUT", message);
}
