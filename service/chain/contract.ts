/** The anchor contract client: deployment, registration and typed calls. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, ContractFactory, type ContractRunner, type Signer } from "ethers";
import { z } from "zod";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function anchorArtifact(): { abi: unknown[]; bytecode: string } {
  const file = path.join(root, "artifacts/contracts/KeyProofAnchor.sol/KeyProofAnchor.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { abi: unknown[]; bytecode: string };
  } catch {
    throw new Error(`contract artifact missing at ${file}: run "npx hardhat build" first`);
  }
}

const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
/** RPC answers are outside input too: checked before use. */
const checkpointAnswer = z.tuple([bytes32, bytes32, z.bigint()]);
const latestAnswer = z.tuple([z.bigint(), bytes32, bytes32, z.bigint()]);

export class AnchorClient {
  readonly contract: Contract;
  constructor(
    readonly address: string,
    runner: ContractRunner,
  ) {
    this.contract = new Contract(address, anchorArtifact().abi as never, runner);
  }

  /** Deploys the contract with `signer` as its admin; resolves once mined. */
  static async deploy(signer: Signer): Promise<AnchorClient & { deployTx: string }> {
    const { abi, bytecode } = anchorArtifact();
    const factory = new ContractFactory(abi as never, bytecode, signer);
    const c = await factory.deploy(await signer.getAddress());
    await c.waitForDeployment();
    const client = new AnchorClient(await c.getAddress(), signer);
    return Object.assign(client, { deployTx: c.deploymentTransaction()!.hash });
  }

  /** Registers a log for `origin` with its operator; resolves with the mined transaction's hash. */
  async registerLog(origin: string, operator: string): Promise<string> {
    const tx = (await this.contract.getFunction("registerLog")(origin, operator)) as { hash: string; wait(): Promise<unknown> };
    await tx.wait();
    return tx.hash;
  }

  async checkpointAt(logId: string, size: bigint): Promise<{ logRoot: string; mapRoot: string; timestamp: bigint }> {
    const [logRoot, mapRoot, timestamp] = checkpointAnswer.parse([...(await this.contract.getFunction("checkpointAt")(logId, size))]);
    return { logRoot: logRoot.toLowerCase(), mapRoot: mapRoot.toLowerCase(), timestamp };
  }

  async latest(logId: string): Promise<{ size: bigint; logRoot: string; mapRoot: string }> {
    const [size, logRoot, mapRoot] = latestAnswer.parse([...(await this.contract.getFunction("latest")(logId))]);
    return { size, logRoot: logRoot.toLowerCase(), mapRoot: mapRoot.toLowerCase() };
  }

  async operatorOf(logId: string): Promise<string> {
    const [operator] = (await this.contract.getFunction("logInfo")(logId)) as [string, string];
    return operator;
  }
}
