/** What every KeyProof command-line tool shares: option checking and failing with a clear message. */
import type { Command, CommanderError } from "commander";
import type { z } from "zod";
import { describeIssue } from "../service/core/validate.js";
import { redactUrls } from "../service/chain/redact.js";

/** Prints `message` (URLs redacted: an RPC URL may hold an API key) and exits with status 2 (bad usage) or the given code. */
export function fail(message: string, code = 2): never {
  process.stderr.write(`error: ${redactUrls(message)}\n`);
  process.exit(code);
}

/**
 * Parses argv with commander, then checks the options with zod. Commander's
 * own refusals (an unknown option, a missing argument) exit 2 like every
 * other bad usage: its default 1 means "findings" or "not verified" here.
 */
export function parseOptions<S extends z.ZodType>(program: Command, schema: S, argv = process.argv): z.infer<S> {
  program.exitOverride(usageExit).parse(argv);
  const parsed = schema.safeParse(program.opts());
  if (!parsed.success) fail(describeIssue(parsed.error));
  return parsed.data;
}

/** Commander's exit: 0 after --help or --version, 2 for bad usage. */
export function usageExit(e: CommanderError): never {
  process.exit(e.exitCode === 0 ? 0 : 2);
}
