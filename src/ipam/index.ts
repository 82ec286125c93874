// src/ipam: Calico-compatible IP address management over a compare-and-swap BlockStore. Pure logic: no I/O of its
// own; time and randomness are arguments (clock/random deps, `now` parameters).
//
// Pieces (each file's header says more):
//   model.ts              plain data = Calico's IPAMBlock / BlockAffinity / IPAMHandle specs
//   block.ts              ordinal operations inside one block
//   block-store.ts        the BlockStore interface (CAS contract S1–S4); in-memory-block-store.ts implements it
//   pools.ts              which pools a request may use
//   block-search.ts       which new block a node should claim
//   affinity-claims.ts    claim / release / repair a node's affinity to a block (ordered multi-object changes)
//   handles.ts            handle reference counts
//   block-writes.ts       assign / release inside one block through the store
//   borrowing.ts, releases.ts   operations on any block (operator, GC, Calico-style allocator)
//   block-claimer.ts      operator: plans and executes claims, pre-claims, releases, repairs; borrows for agents
//   address-assigner.ts   agent: assigns and releases only in its node's blocks, one CAS write per block per round
//   assign-round.ts       the pure plan of one such round, and what each request gets once it is written
//   calico-style-allocator.ts   Calico's "claim and assign anywhere": the operator's, for tunnel addresses and
//                         specific addresses outside an agent's blocks; also the reference for semantics
//   tunnel-addresses.ts   IPIP/VXLAN tunnel addresses and their Node annotations
//   gc.ts / gc-executor.ts      garbage collection: plan (pure) and act
//   check.ts              consistency findings for `tabby ipam check`
//   spec-mapping.ts       src/api IPAM kinds ⇄ model.ts (what the Kubernetes BlockStore maps through)
//   history.ts            IPAM decisions as Kubernetes Events, and finding them again (`tabby ipam history`)
//   address-owner.ts      pool, block, node, handle and pod behind an address (`tabby explain`)
//   converge.ts           the operator's IPAM run in memory to quiet (`tabby diff`); ipam-diff.ts compares two runs
//
// Invariants (each has tests; the file named is where it is kept):
// - I1 No address is ever held twice. An address is held iff its block's `allocations[o]` is non-null. Only a CAS
//   write (S1) replacing the version in which `o` was in `unallocated` can set it, every block keeps each ordinal
//   in exactly one place (B1, block.ts), and blocks are created only by create-if-absent under their CIDR (S2) from
//   their pool's block size, so they never overlap.
// - I2 One owner per block. The block's own `affinity` decides who may assign in it; it is set only by the block's
//   create-if-absent and changed only by CAS (affinity-claims.ts). An agent writes only blocks affine to its node
//   that it has seen with a confirmed affinity (address-assigner.ts).
// - I3 Handles never under-count. Handle counts are raised before the block write that assigns and lowered after
//   the block write that releases (handles.ts, block-writes.ts, address-assigner.ts), so release-by-handle never
//   misses an address; a crash leaves at most an over-count, which check.ts reports, the retried release of the
//   handle repairs at once (the agent's, address-assigner.ts) and gc.ts repairs after its grace.
// - I4 Affinity lifecycle ∅ → pending → confirmed → pendingDeletion → ∅ (affinity-claims.ts). Pending and
//   pendingDeletion count as absent for ownership. A crash at any step leaves a pending affinity (with or without
//   its block), a pendingDeletion affinity, or an empty un-affine block — never a double allocation — and
//   repairAffinity / GC finish or undo each.
// - I5 Released addresses come back. A release clears the ordinal and appends it to `unallocated` in the same
//   write (FIFO reuse); an empty un-affine block is deleted; empty affine blocks go back to the pool via GC
//   (never a node's last block).
// - I6 No ABA. Every block write changes `sequenceNumber`; each allocation records the number it was made at, and
//   GC releases carry it, so an address re-allocated since GC looked is left alone.
// - I7 Bounded retries. Every CAS loop gives up after DATASTORE_RETRIES (100, Calico's) with a transient IpamError
//   naming the object.
// - I8 Block cap. One claimer serialises a node's claims, so the node never holds more than the effective
//   maxBlocksPerHost (default 20) through it; reaching the cap is Calico's blockLimit error, with no borrowing.
// - I9 Restore before allocate. An agent lists its node's blocks once before its first assignment and afterwards
//   knows every version it wrote, so its hot path reads nothing and a stale view only costs a conflict.
export * from './model.js';
export * from './errors.js';
export * from './block-store.js';
export {
  InMemoryBlockStore,
  type InMemoryStoreHooks,
  type StoreOp,
  type StoreStats,
  type StoreSnapshot,
} from './in-memory-block-store.js';
export { storeReads, storeWrites } from './in-memory-block-store.js';
export { attributeOf, blockShapeProblems, freeCount, isEmpty, inUseCount, ordinalsOfHandle } from './block.js';
export * from './pools.js';
export * from './reservations.js';
export { EMPTY_BLOCK_MIN_RECLAIM_AGE_MS, blockCandidates, fnv32, startIndex } from './block-search.js';
export {
  claimBlock,
  releaseBlockAffinity,
  repairAffinity,
  type ClaimOutcome,
  type ReleaseAffinityOutcome,
  type RepairOutcome,
} from './affinity-claims.js';
export * from './allocator.js';
export { CalicoStyleAllocator, type AllocatorDeps } from './calico-style-allocator.js';
export {
  BlockClaimer,
  planBlockActions,
  defaultWatermark,
  type BlockAction,
  type BlockClaimerDeps,
  type BlockSource,
  type ClaimPlanInput,
  type EnsureBlockOutcome,
  type EnsureBlockRequest,
} from './block-claimer.js';
export { AddressAssigner, type AddressAssignerDeps, type AssignerStats } from './address-assigner.js';
export { lookupAddress, releaseAddresses, releaseHandleEverywhere } from './releases.js';
export * from './allocations.js';
export * from './tunnel-addresses.js';
export * from './gc.js';
export { executeGc, type GcActionResult } from './gc-executor.js';
export * from './check.js';
export * from './spec-mapping.js';
export * from './history.js';
export {
  explainAddress,
  type AddressOwnership,
  type AllocationInfo,
  type BlockInfo,
  type OwnerInput,
  type PoolInfo,
} from './address-owner.js';
export {
  MAX_ROUNDS,
  convergeIpam,
  type BlockDecision,
  type ConvergedIpam,
  type IpamSeed,
  type IpamWorld,
  type WorldNode,
} from './converge.js';
export { diffIpam, type BlockChange, type ConvergedWorld, type KeptBlock, type NodeIpamDiff } from './ipam-diff.js';
export { type ManualReleasePlan, type ReleaseTarget, keptBecause, planManualRelease } from './manual-release.js';
export { SplitError, type SplitPlan, planPoolSplit, splitCidr, splitPoolName } from './pool-split.js';
