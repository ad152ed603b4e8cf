/**
 * Gas per anchor for logs of 1 thousand, 1 million and 1 billion entries, and
 * gas per event at 10,000 events per anchor, beside a naive contract that
 * registers every key on chain. Run: npm run bench:gas
 *
 * A billion-leaf log cannot be built here, so the log is virtual: every leaf
 * hash is the same value, so a perfect subtree of height k has one hash H_k
 * and any proof is computed from the RFC 9162 plans in O(log n). The contract
 * verifies these proofs exactly as it would real ones (same lengths, same work).
 */
import { createRequire } from "node:module";
import { network } from "hardhat";
import { consistencyPlan, foldRange, nodeHash, perfectSubtrees, sha256, toHex, utf8, type NodeId } from "../service/core/index.js";

const EVENTS_PER_ANCHOR = 10_000;
const SIZES: [string, bigint][] = [
  ["1 thousand", 1_000n],
  ["1 million", 1_000_000n],
  ["1 billion", 1_000_000_000n],
];

const levels: Uint8Array[] = [sha256(utf8("virtual leaf"))];
for (let i = 1; i <= 64; i++) levels.push(nodeHash(levels[i - 1]!, levels[i - 1]!));
const node = (id: NodeId): Uint8Array => levels[id.level]!;
const root = (size: bigint): string => `0x${toHex(foldRange(perfectSubtrees(0n, size).map(node)))}`;
const proof = (a: bigint, b: bigint): string[] => consistencyPlan(a, b).map((p) => `0x${toHex(foldRange(p.map(node)))}`);

/** The naive alternative: one storage write per key event. Compiled here; never shipped. */
const NAIVE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract NaiveKeyRegistry {
  mapping(bytes32 => bytes32) public stateOf;
  event KeyState(bytes32 indexed key, bytes32 stateHash);
  function record(bytes32[] calldata keys, bytes32[] calldata states) external {
    for (uint256 i = 0; i < keys.length; ++i) { stateOf[keys[i]] = states[i]; emit KeyState(keys[i], states[i]); }
  }
}`;

function compileNaive(): { abi: unknown[]; bytecode: string } {
  const require = createRequire(import.meta.url);
  const solc = require("solc") as { compile(input: string): string };
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: "Solidity",
        sources: { "Naive.sol": { content: NAIVE } },
        settings: {
          optimizer: { enabled: true, runs: 10000 },
          evmVersion: "cancun",
          outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
        },
      }),
    ),
  );
  const c = out.contracts["Naive.sol"].NaiveKeyRegistry;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

const { ethers } = await network.create();
const [admin, operator] = await ethers.getSigners();

const rows: string[][] = [];
for (const [label, size] of SIZES) {
  const anchor = await ethers.deployContract("KeyProofAnchor", [admin!.address]);
  const origin = `bench/${size}`;
  await (await anchor.registerLog(origin, operator!.address)).wait();
  const logId = `0x${toHex(sha256(utf8(origin)))}`;
  const from = size > BigInt(EVENTS_PER_ANCHOR) ? size - BigInt(EVENTS_PER_ANCHOR) : size / 2n;
  const zero = `0x${"00".repeat(32)}`;
  await (await anchor.connect(operator!).anchor(logId, from, root(from), zero, [])).wait();
  const p = proof(from, size);
  const rcpt = await (await anchor.connect(operator!).anchor(logId, size, root(size), `0x${"11".repeat(32)}`, p)).wait();
  const gas = rcpt!.gasUsed;
  const events = size - from;
  rows.push([label, String(p.length), gas.toString(), (Number(gas) / Number(events)).toFixed(2)]);
}

const naive = compileNaive();
const factory = new ethers.ContractFactory(naive.abi as never, naive.bytecode, admin);
const registry = (await factory.deploy()) as unknown as {
  record: (k: string[], s: string[]) => Promise<{ wait(): Promise<{ gasUsed: bigint }> }>;
};
const BATCH = 200;
const keys = Array.from({ length: BATCH }, (_, i) => `0x${toHex(sha256(utf8(`key ${i}`)))}`);
const states = keys.map((k) => `0x${toHex(sha256(utf8(k)))}`);
const naiveGas = (await (await registry.record(keys, states)).wait()).gasUsed;
const naivePerEvent = Number(naiveGas) / BATCH;

const table = [["log size", "proof hashes", "gas per anchor", `gas per event (${EVENTS_PER_ANCHOR}/anchor)`], ...rows];
const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
for (const r of table) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
console.log(
  `naive per-key contract: ${naivePerEvent.toFixed(0)} gas per event (batches of ${BATCH}), ${(naivePerEvent / (Number(rows[1]![2]) / EVENTS_PER_ANCHOR)).toFixed(0)}x the anchored cost at 1 million`,
);
const at1M = Number(rows[1]![2]);
console.log(`target: <= 120000 gas per anchor at 1 million entries: ${at1M <= 120_000 ? "met" : "MISSED"} (${at1M})`);
