/** The benchmarks' command lines: positional counts with defaults, --help, and a clear error for a bad value (commander). */
import { Command, InvalidArgumentError } from "commander";

export interface Positional {
  name: string;
  description: string;
  default: number;
}

/** Parses `argv` (help and errors exit, as commander does) and returns the positionals in order. */
export function benchArgs(command: string, description: string, positionals: Positional[], argv = process.argv): number[] {
  const program = new Command(`npm run ${command} --`).description(description).showHelpAfterError();
  for (const p of positionals) program.argument(`[${p.name}]`, p.description, positiveInteger, p.default);
  program.parse(argv);
  return program.processedArgs as number[];
}

function positiveInteger(value: string): number {
  // 1_000_000 and 1e6 read as what they say.
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer.");
  return n;
}
