// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RFC 9162 Merkle tree proof verification
/// @notice Verifies inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs of
/// RFC 9162 / RFC 6962 Merkle trees, hashing with the SHA-256 precompile.
/// Node hashes are H(0x01 || left || right); leaf hashes are computed off
/// chain as H(0x00 || entry) and passed in.
/// @dev Indices are 64-bit as in the RFC; arithmetic is done in uint256 so
/// nothing wraps. Functions return false for any malformed proof and never revert
/// except when the precompile call itself fails. A zero leaf or root is refused:
/// no SHA-256 output is known to be zero, and zero is how the ABI (and the
/// anchor mapping) says "absent".
library RFC9162 {
    /// @notice The SHA-256 precompile call failed (out of gas).
    error Sha256Failed();

    /// @dev H(0x01 || left || right) through the precompile at address 2,
    /// using scratch memory so no allocation grows per hash.
    function nodeHash(bytes32 left, bytes32 right) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 1), left)
            mstore(add(ptr, 33), right)
            if iszero(staticcall(gas(), 0x02, ptr, 65, ptr, 32)) {
                mstore(0, 0xc176b3c5) // Sha256Failed()
                revert(0x1c, 4)
            }
            h := mload(ptr)
        }
    }

    /// @notice Checks that `leaf` is at `index` in the tree of `size` with root `root`.
    /// @param index The leaf's position, from 0.
    /// @param size The tree size the proof is for.
    /// @param leaf The leaf hash H(0x00 || entry).
    /// @param proof The audit path, leaf side first.
    /// @param root The expected tree root.
    /// @return ok True when the proof verifies.
    function verifyInclusion(
        uint64 index,
        uint64 size,
        bytes32 leaf,
        bytes32[] calldata proof,
        bytes32 root
    ) internal view returns (bool ok) {
        if (index >= size || leaf == bytes32(0) || root == bytes32(0)) return false;
        uint256 fn = index;
        uint256 sn = uint256(size) - 1;
        bytes32 r = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                r = nodeHash(proof[i], r);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = nodeHash(r, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }

    /// @notice Checks that the tree (size2, root2) extends the tree (size1, root1).
    /// @dev A proof from size 0 is refused: an empty tree commits to nothing.
    /// @param size1 The old tree size (at least 1).
    /// @param size2 The new tree size (at least size1).
    /// @param root1 The old root.
    /// @param root2 The new root.
    /// @param proof The RFC 9162 consistency proof.
    /// @return ok True when the proof verifies.
    function verifyConsistency(
        uint64 size1,
        uint64 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) internal view returns (bool ok) {
        if (size2 < size1 || size1 == 0 || root1 == bytes32(0) || root2 == bytes32(0)) return false;
        if (size1 == size2) return proof.length == 0 && root1 == root2;
        if (proof.length == 0) return false;

        // The loop is in assembly because anchoring runs it on every anchor: it
        // reads the proof straight from calldata and hashes in scratch memory
        // (0x00: the 0x01 prefix, 0x01..0x40: the two children), which saves
        // about a fifth of the gas of the Solidity version. It is the
        // §2.1.4.2 algorithm line for line; the shared vectors test it.
        assembly ("memory-safe") {
            let out := mload(0x40) // free memory, used for the hash output only
            let fn := sub(size1, 1)
            let sn := sub(size2, 1)
            for {} and(fn, 1) {} {
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            let p := proof.offset
            let end := add(p, shl(5, proof.length))
            // When size1 is a power of two its root is the first path element and is not sent.
            let fr := root1
            if and(size1, sub(size1, 1)) {
                fr := calldataload(p)
                p := add(p, 32)
            }
            let sr := fr
            let bad := 0
            mstore8(0, 1)
            for {} lt(p, end) { p := add(p, 32) } {
                if iszero(sn) {
                    bad := 1
                    break
                }
                let c := calldataload(p)
                switch or(and(fn, 1), eq(fn, sn))
                case 1 {
                    mstore(1, c)
                    mstore(33, fr)
                    if iszero(staticcall(gas(), 0x02, 0, 65, out, 32)) { revert(0, 0) }
                    fr := mload(out)
                    mstore(33, sr)
                    if iszero(staticcall(gas(), 0x02, 0, 65, out, 32)) { revert(0, 0) }
                    sr := mload(out)
                    for {} and(iszero(and(fn, 1)), iszero(iszero(fn))) {} {
                        fn := shr(1, fn)
                        sn := shr(1, sn)
                    }
                }
                default {
                    mstore(1, sr)
                    mstore(33, c)
                    if iszero(staticcall(gas(), 0x02, 0, 65, out, 32)) { revert(0, 0) }
                    sr := mload(out)
                }
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            mstore(0x40, out) // the last child write touched the free memory pointer's top byte
            ok := and(iszero(bad), and(iszero(sn), and(eq(fr, root1), eq(sr, root2))))
        }
    }
}
