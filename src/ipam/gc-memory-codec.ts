// IPAM GC's memory (gc.ts GcMemory: when each leak candidate, empty block, handle over-count and affinity in
// transition was first seen) as text a leader hands to the next one (carried on the leader's Lease,
// src/kube/leader-election.ts). Without it every new leader starts each grace period again, so a leader replaced
// more often than the grace never releases a leak — GC stalls exactly when the control plane is unsettled.
// Bounded: at most MAX_ENTRIES, the oldest first (closest to their release); an entry left out only starts its grace
// again, which is the safe side. Decoding is strict (zod): text that does not parse gives an empty memory and the
// reason, never a guess.
// Pure.
import { z } from 'zod';
import { type GcMemory, emptyGcMemory } from './gc.js';

export const MAX_ENTRIES = 256;

const Times = z.record(z.string(), z.number().int().nonnegative());
const EncodedSchema = z.strictObject({
  v: z.literal(1),
  leaks: Times,
  empty: z.record(z.string(), z.tuple([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])),
  overcounts: Times,
  transitions: Times,
});
type Encoded = z.infer<typeof EncodedSchema>;

/** The memory as text; '' when it holds nothing (the annotation is then removed). */
export function encodeGcMemory(m: GcMemory, max = MAX_ENTRIES): string {
  const all: { since: number; put: (e: Encoded) => void }[] = [];
  for (const [k, since] of m.leakCandidates) all.push({ since, put: (e) => (e.leaks[k] = since) });
  for (const [k, v] of m.emptyBlocks)
    all.push({ since: v.since, put: (e) => (e.empty[k] = [v.since, v.sequenceNumber.toString()]) });
  for (const [k, since] of m.handleOvercounts) all.push({ since, put: (e) => (e.overcounts[k] = since) });
  for (const [k, since] of m.transitions) all.push({ since, put: (e) => (e.transitions[k] = since) });
  if (all.length === 0) return '';
  const e: Encoded = { v: 1, leaks: {}, empty: {}, overcounts: {}, transitions: {} };
  for (const x of all.sort((a, b) => a.since - b.since).slice(0, max)) x.put(e);
  return JSON.stringify(e);
}

export function decodeGcMemory(text: string | undefined): { memory: GcMemory; error?: string } {
  if (text === undefined || text === '') return { memory: emptyGcMemory() };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { memory: emptyGcMemory(), error: `not JSON: ${(err as Error).message}` };
  }
  const r = EncodedSchema.safeParse(json);
  if (!r.success) return { memory: emptyGcMemory(), error: z.prettifyError(r.error) };
  const e = r.data;
  return {
    memory: {
      leakCandidates: new Map(Object.entries(e.leaks)),
      emptyBlocks: new Map(
        Object.entries(e.empty).map(([k, [since, seq]]) => [k, { since, sequenceNumber: BigInt(seq) }]),
      ),
      handleOvercounts: new Map(Object.entries(e.overcounts)),
      transitions: new Map(Object.entries(e.transitions)),
    },
  };
}
