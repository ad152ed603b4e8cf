import { expect } from "chai";
import { network } from "hardhat";
import { MemoryTree, fromBase64, sha256, toHex, utf8 } from "../../service/core/index.js";
import { vectorFiles, type ConsistencyVector, type InclusionVector } from "../helpers/testdata.js";

const { ethers, networkHelpers } = await network.create();

/** ABI bytes32: a value that is not 32 bytes arrives right-padded with zeros (or cut). */
function b32(s: string): string {
  const raw = s === "" ? new Uint8Array(0) : fromBase64(s);
  const out = new Uint8Array(32);
  out.set(raw.slice(0, 32));
  return `0x${toHex(out)}`;
}
const hex = (b: Uint8Array): string => `0x${toHex(b)}`;

async function deploy() {
  const [admin, operator, other, relayer] = await ethers.getSigners();
  const anchor = await ethers.deployContract("KeyProofAnchor", [admin!.address]);
  const origin = "test.keyproof.example/log";
  await anchor.registerLog(origin, operator!.address);
  const logId = hex(sha256(utf8(origin)));
  return { anchor, admin: admin!, operator: operator!, other: other!, relayer: relayer!, origin, logId };
}

function treeOf(n: number): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.appendEntry(utf8(`entry ${i}`));
  return t;
}

describe("KeyProofAnchor", () => {
  describe("RFC 9162 library against the shared vectors", () => {
    let anchor: Awaited<ReturnType<typeof deploy>>["anchor"];
    before(async () => ({ anchor } = await networkHelpers.loadFixture(deploy)));

    it("inclusion: happy paths accepted, every wantErr case rejected", async () => {
      for (const { name, data } of vectorFiles("rfc6962/inclusion")) {
        const v = data as InclusionVector;
        const ok = await anchor.checkInclusion(
          BigInt(v.leafIdx),
          BigInt(v.treeSize),
          b32(v.leafHash),
          (v.proof ?? []).map(b32),
          b32(v.root),
        );
        expect(ok, name).to.equal(!v.wantErr);
      }
    });

    it("consistency: happy paths accepted, every wantErr case rejected", async () => {
      for (const { name, data } of vectorFiles("rfc6962/consistency")) {
        const v = data as ConsistencyVector;
        const ok = await anchor.checkConsistency(BigInt(v.size1), BigInt(v.size2), b32(v.root1), b32(v.root2), (v.proof ?? []).map(b32));
        expect(ok, name).to.equal(!v.wantErr);
      }
    });
  });

  describe("anchoring", () => {
    it("accepts a growing, consistent history and emits Anchored", async () => {
      const { anchor, operator, logId } = await networkHelpers.loadFixture(deploy);
      const t = treeOf(20);
      const m1 = new Uint8Array(32).fill(1);
      await expect(anchor.connect(operator).anchor(logId, 7, hex(t.root(7n)), hex(m1), []))
        .to.emit(anchor, "Anchored")
        .withArgs(logId, 7, hex(t.root(7n)), hex(m1));
      const proof = t.consistencyProof(7n, 20n).map(hex);
      await expect(anchor.connect(operator).anchor(logId, 20, hex(t.root(20n)), hex(m1), proof)).to.emit(anchor, "Anchored");
      const [size, logRoot, mapRoot] = await anchor.latest(logId);
      expect([size, logRoot, mapRoot]).to.deep.equal([20n, hex(t.root(20n)), hex(m1)]);
      const at7 = await anchor.checkpointAt(logId, 7);
      expect(at7[0]).to.equal(hex(t.root(7n)));
      const never = await anchor.checkpointAt(logId, 8);
      expect(never[0]).to.equal(ethers.ZeroHash);
      expect(never[2]).to.equal(0n);
      // Inclusion against the anchored root, with the chain alone.
      expect(await anchor.verifyInclusionAt(logId, 20, 5, hex(t.leaf(5n)), t.inclusionProof(5n, 20n).map(hex))).to.equal(true);
      expect(await anchor.verifyInclusionAt(logId, 19, 5, hex(t.leaf(5n)), t.inclusionProof(5n, 19n).map(hex))).to.equal(false);
    });

    it("rejects a forked or rewritten history", async () => {
      const { anchor, operator, logId } = await networkHelpers.loadFixture(deploy);
      const t = treeOf(10);
      await anchor.connect(operator).anchor(logId, 6, hex(t.root(6n)), ethers.ZeroHash, []);
      const fork = new MemoryTree();
      for (let i = 0; i < 10; i++) fork.appendEntry(utf8(i === 3 ? "rewritten" : `entry ${i}`));
      await expect(
        anchor.connect(operator).anchor(logId, 10, hex(fork.root(10n)), ethers.ZeroHash, fork.consistencyProof(6n, 10n).map(hex)),
      )
        .to.be.revertedWithCustomError(anchor, "InconsistentHistory")
        .withArgs(logId, 6, 10);
      // A valid proof for the honest tree does not carry a forged root either.
      await expect(
        anchor.connect(operator).anchor(logId, 10, hex(fork.root(10n)), ethers.ZeroHash, t.consistencyProof(6n, 10n).map(hex)),
      ).to.be.revertedWithCustomError(anchor, "InconsistentHistory");
    });

    it("rejects a non-operator, an unknown log and a size that does not grow", async () => {
      const { anchor, operator, other, logId } = await networkHelpers.loadFixture(deploy);
      const t = treeOf(8);
      await expect(anchor.connect(other).anchor(logId, 4, hex(t.root(4n)), ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(anchor, "NotLogOperator")
        .withArgs(logId, other.address);
      await expect(anchor.connect(operator).anchor(ethers.ZeroHash, 4, hex(t.root(4n)), ethers.ZeroHash, [])).to.be.revertedWithCustomError(
        anchor,
        "UnknownLog",
      );
      await anchor.connect(operator).anchor(logId, 4, hex(t.root(4n)), ethers.ZeroHash, []);
      await expect(anchor.connect(operator).anchor(logId, 4, hex(t.root(4n)), ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(anchor, "SizeNotIncreasing")
        .withArgs(logId, 4, 4);
      await expect(anchor.connect(operator).anchor(logId, 3, hex(t.root(3n)), ethers.ZeroHash, [])).to.be.revertedWithCustomError(
        anchor,
        "SizeNotIncreasing",
      );
    });

    it("pauses and unpauses one log; only the pauser may; other logs keep anchoring", async () => {
      const { anchor, operator, other, logId } = await networkHelpers.loadFixture(deploy);
      await anchor.registerLog("other.keyproof.example/log", operator.address);
      const otherLog = hex(sha256(utf8("other.keyproof.example/log")));
      await expect(anchor.connect(other).pauseLog(logId)).to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount");
      await expect(anchor.pauseLog(ethers.ZeroHash)).to.be.revertedWithCustomError(anchor, "UnknownLog");
      await expect(anchor.pauseLog(logId)).to.emit(anchor, "PauseChanged").withArgs(logId, true);
      expect(await anchor.isPaused(logId)).to.equal(true);
      const root1 = hex(treeOf(1).root());
      await expect(anchor.connect(operator).anchor(logId, 1, root1, ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(anchor, "LogPaused")
        .withArgs(logId);
      await expect(anchor.connect(operator).anchor(otherLog, 1, root1, ethers.ZeroHash, [])).to.emit(anchor, "Anchored");
      // A rotation does not lift the pause.
      await anchor.setOperator(logId, other.address);
      await expect(anchor.connect(other).anchor(logId, 1, root1, ethers.ZeroHash, [])).to.be.revertedWithCustomError(anchor, "LogPaused");
      await anchor.unpauseLog(logId);
      expect(await anchor.isPaused(logId)).to.equal(false);
      await expect(anchor.connect(other).anchor(logId, 1, root1, ethers.ZeroHash, [])).to.emit(anchor, "Anchored");
    });

    it("rotates the operator; the old one is refused", async () => {
      const { anchor, operator, other, logId } = await networkHelpers.loadFixture(deploy);
      await expect(anchor.connect(operator).setOperator(logId, other.address)).to.be.revertedWithCustomError(
        anchor,
        "AccessControlUnauthorizedAccount",
      );
      await expect(anchor.setOperator(logId, other.address))
        .to.emit(anchor, "OperatorChanged")
        .withArgs(logId, operator.address, other.address);
      const t = treeOf(2);
      await expect(anchor.connect(operator).anchor(logId, 2, hex(t.root()), ethers.ZeroHash, [])).to.be.revertedWithCustomError(
        anchor,
        "NotLogOperator",
      );
      await expect(anchor.connect(other).anchor(logId, 2, hex(t.root()), ethers.ZeroHash, [])).to.emit(anchor, "Anchored");
      expect((await anchor.logInfo(logId))[0]).to.equal(other.address);
    });

    it("registration: admin only, one per origin, no zero operator", async () => {
      const { anchor, other, origin } = await networkHelpers.loadFixture(deploy);
      await expect(anchor.registerLog(origin, other.address)).to.be.revertedWithCustomError(anchor, "LogAlreadyRegistered");
      await expect(anchor.connect(other).registerLog("x/log", other.address)).to.be.revertedWithCustomError(
        anchor,
        "AccessControlUnauthorizedAccount",
      );
      await expect(anchor.registerLog("x/log", ethers.ZeroAddress)).to.be.revertedWithCustomError(anchor, "ZeroOperator");
      await expect(anchor.registerLog("x/log", other.address)).to.emit(anchor, "LogRegistered");
    });
  });

  describe("anchorBySig (EIP-712 relay)", () => {
    /** The operator's EIP-712 authorization; `signer` stands in for a forger. */
    async function signAnchor(
      fx: Awaited<ReturnType<typeof deploy>>,
      size: number,
      root: string,
      deadline: bigint,
      nonce?: bigint,
      signer: Awaited<ReturnType<typeof deploy>>["operator"] = fx.operator,
    ) {
      const { anchor, operator, logId } = fx;
      const { chainId } = await ethers.provider.getNetwork();
      const domain = { name: "KeyProofAnchor", version: "1", chainId, verifyingContract: await anchor.getAddress() };
      const types = {
        Anchor: [
          { name: "logId", type: "bytes32" },
          { name: "size", type: "uint64" },
          { name: "logRoot", type: "bytes32" },
          { name: "mapRoot", type: "bytes32" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      };
      const value = {
        logId,
        size,
        logRoot: root,
        mapRoot: ethers.ZeroHash,
        nonce: nonce ?? (await anchor.nonces(operator.address)),
        deadline,
      };
      return signer.signTypedData(domain, types, value);
    }

    it("anyone relays the operator's signature once; replays, forgeries and expired ones fail", async () => {
      const fx = await networkHelpers.loadFixture(deploy);
      const { anchor, relayer, other, logId } = fx;
      const t = treeOf(9);
      const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
      const sig = await signAnchor(fx, 5, hex(t.root(5n)), deadline);
      await expect(anchor.connect(relayer).anchorBySig(logId, 5, hex(t.root(5n)), ethers.ZeroHash, [], deadline, sig))
        .to.emit(anchor, "Anchored")
        .withArgs(logId, 5, hex(t.root(5n)), ethers.ZeroHash);
      // Replaying the same authorization fails: the nonce was used (and the size no longer grows).
      await expect(anchor.connect(relayer).anchorBySig(logId, 5, hex(t.root(5n)), ethers.ZeroHash, [], deadline, sig)).to.be.revert(ethers);
      const sig9 = await signAnchor(fx, 9, hex(t.root(9n)), deadline, 0n); // stale nonce
      await expect(
        anchor
          .connect(relayer)
          .anchorBySig(logId, 9, hex(t.root(9n)), ethers.ZeroHash, t.consistencyProof(5n, 9n).map(hex), deadline, sig9),
      ).to.be.revertedWithCustomError(anchor, "InvalidOperatorSignature");
      const forged = await signAnchor(fx, 9, hex(t.root(9n)), deadline, 1n, other);
      await expect(
        anchor
          .connect(relayer)
          .anchorBySig(logId, 9, hex(t.root(9n)), ethers.ZeroHash, t.consistencyProof(5n, 9n).map(hex), deadline, forged),
      ).to.be.revertedWithCustomError(anchor, "InvalidOperatorSignature");
      const past = BigInt(await networkHelpers.time.latest()) - 1n;
      const old = await signAnchor(fx, 9, hex(t.root(9n)), past);
      await expect(
        anchor.connect(relayer).anchorBySig(logId, 9, hex(t.root(9n)), ethers.ZeroHash, t.consistencyProof(5n, 9n).map(hex), past, old),
      ).to.be.revertedWithCustomError(anchor, "AuthorizationExpired");
      const good = await signAnchor(fx, 9, hex(t.root(9n)), deadline);
      await expect(
        anchor
          .connect(relayer)
          .anchorBySig(logId, 9, hex(t.root(9n)), ethers.ZeroHash, t.consistencyProof(5n, 9n).map(hex), deadline, good),
      ).to.emit(anchor, "Anchored");
    });
  });
});
