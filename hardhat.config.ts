import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";

// Compile with the solc-js build shipped in the `solc` npm package, so that
// compiling never downloads a compiler. The version below must match the
// installed package (package.json pins it exactly).
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.28";
const solcPackage = require("solc/package.json") as { version: string };
if (solcPackage.version !== SOLC_VERSION) {
  throw new Error(`hardhat.config.ts expects solc ${SOLC_VERSION}, found ${solcPackage.version}`);
}

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    version: SOLC_VERSION,
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 1_000_000 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "./contracts",
    tests: { mocha: "./test" },
  },
  test: {
    mocha: {
      timeout: 120_000,
      reporter: require.resolve("./test/helpers/summary-reporter.cjs"),
    },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    localhost: { type: "http", url: "http://127.0.0.1:8545" },
  },
});
