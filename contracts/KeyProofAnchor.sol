// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {RFC9162} from "./lib/RFC9162.sol";

/// @title KeyProof anchor registry
/// @notice Append-only on-chain checkpoints of KeyProof transparency logs. Each
/// anchor stores (size, log root, map root) and is accepted only when an RFC 9162
/// consistency proof, verified here, shows it extends the previous anchor: the
/// chain itself refuses a rewritten history.
/// @dev logId = sha256(utf8(origin)), as in KeyProof SPEC §7.
contract KeyProofAnchor is AccessControl, EIP712, Nonces {
    /// @notice May register logs and rotate their operators.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice May pause and unpause the anchoring of a log in an emergency.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice EIP-712 type of an operator's off-chain anchor authorization.
    bytes32 public constant ANCHOR_TYPEHASH =
        keccak256("Anchor(bytes32 logId,uint64 size,bytes32 logRoot,bytes32 mapRoot,uint256 nonce,uint256 deadline)");

    /// @dev Packed in one slot: the operator and the latest anchored size and time.
    struct LogHead {
        address operator;
        uint64 size;
        // Per log, in the slot `anchor` reads anyway: a global pause flag would cost a cold SLOAD (2,100 gas) per anchor.
        bool paused;
    }

    /// @dev One anchored checkpoint: two roots and the block time (three slots).
    struct Anchor {
        bytes32 logRoot;
        bytes32 mapRoot;
        uint64 timestamp;
    }

    mapping(bytes32 logId => LogHead) private _heads;
    mapping(bytes32 logId => string) private _origins;
    mapping(bytes32 logId => mapping(uint64 size => Anchor)) private _anchors;

    /// @notice A checkpoint of `logId` was anchored.
    event Anchored(bytes32 indexed logId, uint64 indexed size, bytes32 logRoot, bytes32 mapRoot);
    /// @notice A log was registered with its origin and first operator.
    event LogRegistered(bytes32 indexed logId, string origin, address indexed operator);
    /// @notice A log's operator changed.
    event OperatorChanged(bytes32 indexed logId, address indexed previousOperator, address indexed newOperator);
    /// @notice Anchoring of a log was paused (`paused` true) or resumed.
    event PauseChanged(bytes32 indexed logId, bool paused);

    /// @notice No log is registered under this id.
    error UnknownLog(bytes32 logId);
    /// @notice Anchoring of this log is paused.
    error LogPaused(bytes32 logId);
    /// @notice A log with this origin is already registered.
    error LogAlreadyRegistered(bytes32 logId);
    /// @notice The operator address must not be zero.
    error ZeroOperator();
    /// @notice Only the log's operator may anchor it.
    error NotLogOperator(bytes32 logId, address account);
    /// @notice The new size must be larger than the latest anchored size.
    error SizeNotIncreasing(bytes32 logId, uint64 latestSize, uint64 size);
    /// @notice The consistency proof does not show the new checkpoint extends the latest one.
    error InconsistentHistory(bytes32 logId, uint64 fromSize, uint64 toSize);
    /// @notice The EIP-712 authorization expired.
    error AuthorizationExpired(uint256 deadline);
    /// @notice The EIP-712 signature is not the operator's.
    error InvalidOperatorSignature(bytes32 logId);

    /// @param admin Receives the admin, registrar and pauser roles.
    constructor(address admin) EIP712("KeyProofAnchor", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /// @notice Registers a log by its origin; its id is sha256(origin).
    /// @param origin The checkpoint origin line, e.g. `keyproof.example.com/log`.
    /// @param operator The address allowed to anchor it.
    /// @return logId The log's id.
    function registerLog(string calldata origin, address operator) external onlyRole(REGISTRAR_ROLE) returns (bytes32 logId) {
        if (operator == address(0)) revert ZeroOperator();
        logId = sha256(bytes(origin));
        if (_heads[logId].operator != address(0)) revert LogAlreadyRegistered(logId);
        _heads[logId].operator = operator;
        _origins[logId] = origin;
        emit LogRegistered(logId, origin, operator);
    }

    /// @notice Rotates a log's operator (key compromise, hand-over).
    /// @param logId The log.
    /// @param newOperator The new operator address.
    function setOperator(bytes32 logId, address newOperator) external onlyRole(REGISTRAR_ROLE) {
        if (newOperator == address(0)) revert ZeroOperator();
        address previous = _heads[logId].operator;
        if (previous == address(0)) revert UnknownLog(logId);
        _heads[logId].operator = newOperator;
        emit OperatorChanged(logId, previous, newOperator);
    }

    /// @notice Stops anchoring of one log (say, its operator key leaked) until unpaused.
    function pauseLog(bytes32 logId) external onlyRole(PAUSER_ROLE) {
        _setPaused(logId, true);
    }

    /// @notice Lets a paused log anchor again.
    function unpauseLog(bytes32 logId) external onlyRole(PAUSER_ROLE) {
        _setPaused(logId, false);
    }

    /// @notice Whether anchoring of `logId` is paused.
    function isPaused(bytes32 logId) external view returns (bool) {
        return _heads[logId].paused;
    }

    function _setPaused(bytes32 logId, bool paused) private {
        if (_heads[logId].operator == address(0)) revert UnknownLog(logId);
        _heads[logId].paused = paused;
        emit PauseChanged(logId, paused);
    }

    /// @notice Anchors checkpoint (size, logRoot, mapRoot) of a log; only its operator may.
    /// @param logId The log.
    /// @param size The checkpoint's tree size; must exceed the latest anchored size.
    /// @param logRoot The RFC 9162 root at `size`.
    /// @param mapRoot The key-state map root at `size`.
    /// @param consistencyProof RFC 9162 proof from the latest anchored size to `size` (empty for the first anchor).
    function anchor(
        bytes32 logId,
        uint64 size,
        bytes32 logRoot,
        bytes32 mapRoot,
        bytes32[] calldata consistencyProof
    ) external {
        LogHead memory head = _heads[logId];
        if (head.operator != msg.sender) {
            if (head.operator == address(0)) revert UnknownLog(logId);
            revert NotLogOperator(logId, msg.sender);
        }
        _anchor(logId, head, size, logRoot, mapRoot, consistencyProof);
    }

    /// @notice Anchors on the operator's EIP-712 authorization; anyone may relay it.
    /// @dev The signature covers the checkpoint, the operator's nonce and a deadline;
    /// the proof is not signed because the chain verifies it.
    /// @param logId The log.
    /// @param size The checkpoint's tree size.
    /// @param logRoot The RFC 9162 root at `size`.
    /// @param mapRoot The key-state map root at `size`.
    /// @param consistencyProof RFC 9162 proof from the latest anchored size.
    /// @param deadline Last timestamp at which the authorization is valid.
    /// @param signature The operator's signature (EOA or ERC-1271).
    function anchorBySig(
        bytes32 logId,
        uint64 size,
        bytes32 logRoot,
        bytes32 mapRoot,
        bytes32[] calldata consistencyProof,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert AuthorizationExpired(deadline);
        LogHead memory head = _heads[logId];
        if (head.operator == address(0)) revert UnknownLog(logId);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(ANCHOR_TYPEHASH, logId, size, logRoot, mapRoot, _useNonce(head.operator), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(head.operator, digest, signature)) revert InvalidOperatorSignature(logId);
        _anchor(logId, head, size, logRoot, mapRoot, consistencyProof);
    }

    function _anchor(
        bytes32 logId,
        LogHead memory head,
        uint64 size,
        bytes32 logRoot,
        bytes32 mapRoot,
        bytes32[] calldata proof
    ) private {
        if (head.paused) revert LogPaused(logId);
        if (size <= head.size) revert SizeNotIncreasing(logId, head.size, size);
        mapping(uint64 => Anchor) storage history = _anchors[logId];
        if (head.size != 0 && !RFC9162.verifyConsistency(head.size, size, history[head.size].logRoot, logRoot, proof)) {
            revert InconsistentHistory(logId, head.size, size);
        }
        _heads[logId] = LogHead(head.operator, size, false);
        Anchor storage a = history[size];
        a.logRoot = logRoot;
        a.mapRoot = mapRoot;
        a.timestamp = uint64(block.timestamp);
        emit Anchored(logId, size, logRoot, mapRoot);
    }

    /// @notice The checkpoint anchored at exactly `size`; zeros when none was.
    /// @param logId The log.
    /// @param size The tree size.
    /// @return logRoot The log root.
    /// @return mapRoot The map root.
    /// @return timestamp Block time of the anchor.
    function checkpointAt(
        bytes32 logId,
        uint64 size
    ) external view returns (bytes32 logRoot, bytes32 mapRoot, uint64 timestamp) {
        Anchor storage a = _anchors[logId][size];
        return (a.logRoot, a.mapRoot, a.timestamp);
    }

    /// @notice The latest anchored checkpoint of a log; zeros before the first anchor.
    /// @param logId The log.
    /// @return size Its tree size.
    /// @return logRoot Its log root.
    /// @return mapRoot Its map root.
    /// @return timestamp Block time of the anchor.
    function latest(
        bytes32 logId
    ) external view returns (uint64 size, bytes32 logRoot, bytes32 mapRoot, uint64 timestamp) {
        size = _heads[logId].size;
        Anchor storage a = _anchors[logId][size];
        return (size, a.logRoot, a.mapRoot, a.timestamp);
    }

    /// @notice Checks an entry's inclusion against an anchored root, using the chain alone.
    /// @param logId The log.
    /// @param size An anchored tree size.
    /// @param index The entry's index.
    /// @param leafHash H(0x00 || entry).
    /// @param proof The RFC 9162 inclusion proof at `size`.
    /// @return included True when `size` is anchored and the proof verifies against its root.
    function verifyInclusionAt(
        bytes32 logId,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool included) {
        bytes32 root = _anchors[logId][size].logRoot;
        return root != bytes32(0) && RFC9162.verifyInclusion(index, size, leafHash, proof, root);
    }

    /// @notice Pure RFC 9162 consistency check, exposed for tools and tests.
    function checkConsistency(
        uint64 size1,
        uint64 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return RFC9162.verifyConsistency(size1, size2, root1, root2, proof);
    }

    /// @notice Pure RFC 9162 inclusion check, exposed for tools and tests.
    function checkInclusion(
        uint64 index,
        uint64 size,
        bytes32 leafHash,
        bytes32[] calldata proof,
        bytes32 root
    ) external view returns (bool) {
        return RFC9162.verifyInclusion(index, size, leafHash, proof, root);
    }

    /// @notice A log's operator and origin.
    /// @param logId The log.
    /// @return operator The address allowed to anchor.
    /// @return origin The log's origin.
    function logInfo(bytes32 logId) external view returns (address operator, string memory origin) {
        return (_heads[logId].operator, _origins[logId]);
    }

    /// @notice The operator's next EIP-712 nonce.
    function nonces(address owner) public view override returns (uint256) {
        return super.nonces(owner);
    }
}
