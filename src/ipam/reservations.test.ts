// IPReservations as IPAM reads them. Expected values are Calico's own test data: addr_filter_test.go
// (cidrFilterTests), reserved_test.go (TestCountPoolSpace, TestReservedCIDRs), ipam_block_test.go (NumFreeAddresses,
// NumReservedAddresses) and ipam_test.go ("Reservation tests", "GetUtilization with reservations"); the property test
// compares against a count address by address.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr, makeCidr, parseCidr, parseCidrLoose, parseIP, ipv4FromNumber } from '../net/index.js';
import { assignFromHead, newBlock } from './block.js';
import {
  Reservations,
  freeAddresses,
  poolSpace,
  reservationsFrom,
  reservedCidrTexts,
  reservedInBlock,
} from './reservations.js';
import { type AllocatorMode, harness, nodes, testPool } from './test-fixtures.js';
import { planBlockActions } from './block-claimer.js';
import { DEFAULT_IPAM_CONFIG } from './model.js';

const of = (...cidrs: string[]) => reservationsFrom([one('r', ...cidrs)]).reservations;
const one = (name: string, ...reservedCIDRs: string[]) => ({ metadata: { name }, spec: { reservedCIDRs } });

describe('the reservation filter (calico: addr_filter_test.go cidrFilterTests)', () => {
  it.each([
    {
      filter: ['0.0.0.0/0'],
      ipsMatch: ['0.0.0.0', '255.255.255.255', '10.0.0.1'],
      cidrsMatch: ['0.0.0.0/0', '255.255.255.255/32', '10.0.0.0/8'],
      ipsNoMatch: [],
      cidrsNoMatch: [],
    },
    {
      filter: ['::/0'],
      ipsMatch: ['::', 'ffff::', 'cafe:f00d::'],
      cidrsMatch: ['::/0', 'ffff::/32', 'cafe:f00d::/96'],
      ipsNoMatch: [],
      cidrsNoMatch: [],
    },
    {
      filter: ['192.168.1.64/26', '192.168.1.0/26'],
      ipsMatch: ['192.168.1.0', '192.168.1.63', '192.168.1.64', '192.168.1.127'],
      cidrsMatch: ['192.168.1.64/26', '192.168.1.0/26', '192.168.1.0/25', '192.168.1.64/27', '192.168.1.96/27'],
      ipsNoMatch: ['10.0.0.1', '0.0.0.0'],
      cidrsNoMatch: ['10.0.0.0/8', '0.0.0.0/32', '192.168.2.64/26', '192.168.1.0/24'],
    },
  ])('filter $filter', ({ filter, ipsMatch, cidrsMatch, ipsNoMatch, cidrsNoMatch }) => {
    const r = of(...filter);
    for (const ip of ipsMatch) expect(r.matchesIP(parseIP(ip)), ip).toBe(true);
    for (const ip of ipsNoMatch) expect(r.matchesIP(parseIP(ip)), ip).toBe(false);
    for (const c of cidrsMatch) expect(r.matchesWholeCidr(parseCidr(c)), c).toBe(true);
    for (const c of cidrsNoMatch) expect(r.matchesWholeCidr(parseCidr(c)), c).toBe(false);
  });

  it('an IPv4 reservation matches no IPv6 address and the other way round', () => {
    expect(of('0.0.0.0/0').matchesIP(parseIP('::'))).toBe(false);
    expect(of('::/0').matchesSome(parseCidr('10.0.0.0/8'))).toBe(false);
  });

  it('matchesSome: any overlap, at either end', () => {
    const r = of('10.0.0.60/30');
    expect(r.matchesSome(parseCidr('10.0.0.0/26'))).toBe(true);
    expect(r.matchesSome(parseCidr('10.0.0.62/31'))).toBe(true);
    expect(r.matchesSome(parseCidr('10.0.0.64/26'))).toBe(false);
    expect(r.matchesSome(parseCidr('10.0.0.0/27'))).toBe(false);
  });
});

describe('reservedCIDRs entries (calico: reserved_test.go TestReservedCIDRs)', () => {
  it.each([
    {
      name: 'CIDRs and bare IPs',
      entries: ['10.0.0.0/24', '10.1.0.1', 'fd00::1'],
      want: ['10.0.0.0/24', '10.1.0.1/32', 'fd00::1/128'],
      skipped: [],
    },
    { name: 'surrounding whitespace', entries: [' 10.0.0.0/24 '], want: ['10.0.0.0/24'], skipped: [] },
    {
      name: 'malformed entries are skipped',
      entries: ['', '   ', 'not-a-cidr', '10.0.0.0/33', '10.0.0.0/24'],
      want: ['10.0.0.0/24'],
      skipped: ['not-a-cidr', '10.0.0.0/33'],
    },
    // cnet.ParseCIDROrIP masks a CIDR written with host bits, as Calico's validator accepts it.
    { name: 'host bits set', entries: ['10.0.0.7/30'], want: ['10.0.0.4/30'], skipped: [] },
  ])('$name', ({ entries, want, skipped }) => {
    const r = reservationsFrom([one('reservation', ...entries)]);
    expect(reservedCidrTexts(r.reservations)).toEqual(want);
    expect(r.skipped.map((s) => s.entry)).toEqual(skipped);
    for (const s of r.skipped) expect(s.reservation).toBe('reservation');
  });
});

describe('pool space (calico: reserved_test.go TestCountPoolSpace)', () => {
  it.each([
    { name: 'no reservations and no blocks', pool: '10.0.0.0/24', res: [], blocks: [], cap: 256, rsv: 0, out: 256 },
    { name: 'one reservation', pool: '10.0.0.0/24', res: ['10.0.0.32/30'], blocks: [], cap: 256, rsv: 4, out: 252 },
    {
      name: 'overlapping reservations',
      pool: '10.0.0.0/24',
      res: ['10.0.0.0/25', '10.0.0.5/32', '10.0.0.64/26', '10.0.0.0/25'],
      blocks: [],
      cap: 256,
      rsv: 128,
      out: 128,
    },
    {
      name: 'reservation covering the whole pool',
      pool: '10.0.0.0/24',
      res: ['10.0.0.0/16'],
      blocks: [],
      cap: 256,
      rsv: 256,
      out: 0,
    },
    {
      name: 'reservation outside the pool',
      pool: '10.0.0.0/24',
      res: ['192.168.0.0/24', 'fd00::/120'],
      blocks: [],
      cap: 256,
      rsv: 0,
      out: 256,
    },
    {
      name: 'blocks carved from the pool',
      pool: '10.0.0.0/24',
      res: [],
      blocks: ['10.0.0.0/26', '10.0.0.64/26'],
      cap: 256,
      rsv: 0,
      out: 128,
    },
    {
      name: 'reservation inside a block',
      pool: '10.0.0.0/24',
      res: ['10.0.0.32/30'],
      blocks: ['10.0.0.0/26'],
      cap: 256,
      rsv: 4,
      out: 192,
    },
    {
      name: 'reservation outside every block',
      pool: '10.0.0.0/24',
      res: ['10.0.0.128/25'],
      blocks: ['10.0.0.0/26'],
      cap: 256,
      rsv: 128,
      out: 64,
    },
    { name: 'IPv6 pool', pool: 'fd00::/120', res: ['fd00::/126'], blocks: [], cap: 256, rsv: 4, out: 252 },
  ])('$name', ({ pool, res, blocks, cap, rsv, out }) => {
    const s = poolSpace(
      parseCidr(pool),
      of(...res),
      blocks.map((b) => parseCidr(b)),
    );
    expect(s).toEqual({ capacity: BigInt(cap), reserved: BigInt(rsv), availableOutsideBlocks: BigInt(out) });
  });

  it('a pool too big for a 64-bit count is counted exactly (Calico saturates; Tabby needs no clamp)', () => {
    const s = poolSpace(parseCidr('fd00::/8'), Reservations.none, []);
    expect(s.capacity).toBe(2n ** 120n);
    expect(s.availableOutsideBlocks).toBe(2n ** 120n);
  });
});

describe('free and reserved addresses of a block (calico: ipam_block_test.go)', () => {
  /** Calico's test block: 100.64.0.0/24 with 10, 20, 210 and 220 allocated. */
  function testBlock() {
    const b = newBlock('100.64.0.0/24', 256, { affinity: null, affinityClaimTime: null, sequenceNumber: 0n });
    for (const o of [10, 20, 210, 220]) {
      b.allocations[o] = 0;
      b.unallocated = b.unallocated.filter((u) => u !== o);
    }
    b.attributes.push({ handle_id: 'tens', secondary: null });
    return b;
  }

  it('no reservations: every unallocated address is free, none reserved', () => {
    expect(freeAddresses(testBlock(), Reservations.none)).toBe(256 - 4);
    expect(reservedInBlock(parseCidr('100.64.0.0/24'), Reservations.none)).toBe(0);
  });

  it('half the block reserved: 128 - 2 free; 128 reserved, allocated ones included', () => {
    const r = of('100.64.0.128/25');
    expect(freeAddresses(testBlock(), r)).toBe(128 - 2);
    expect(reservedInBlock(parseCidr('100.64.0.0/24'), r)).toBe(128);
  });

  it('the whole block reserved (100.64.0.128/24 read as its network): nothing free, 256 reserved', () => {
    const r = of('100.64.0.128/24');
    expect(freeAddresses(testBlock(), r)).toBe(0);
    expect(reservedInBlock(parseCidr('100.64.0.0/24'), r)).toBe(256);
  });

  it('automatic assignment skips reserved ordinals, which keep their place in the free list', () => {
    const b = newBlock('10.0.0.0/29', 8, { affinity: null, affinityClaimTime: null, sequenceNumber: 0n });
    const r = of('10.0.0.1', '10.0.0.4/31');
    const got = assignFromHead(b, 8, 'h', null, r.ordinalFilter(parseCidr('10.0.0.0/29')));
    expect(got).toEqual([0, 2, 3, 6, 7]);
    expect(b.unallocated).toEqual([1, 4, 5]);
  });
});

describe('property: every count equals a count address by address', () => {
  const blockArb = fc.integer({ min: 0, max: 15 }).map((i) => makeCidr(ipv4FromNumber(0x0a000000 + i * 16), 28));
  const resArb = fc.array(
    fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 26, max: 32 }))
      .map(([o, p]) => parseCidrLoose(`10.0.0.${o}/${p}`)),
    { maxLength: 6 },
  );

  it('matchesIP, matchesWholeCidr, matchesSome, countIn and poolSpace', () => {
    fc.assert(
      fc.property(resArb, fc.array(blockArb, { maxLength: 4 }), (cidrs, blocks) => {
        const r = new Reservations(cidrs);
        const reservedAt = (n: number) =>
          cidrs.some((c) => {
            const base = c.network.w3 >>> 0;
            const size = 2 ** (32 - c.prefix);
            return n >= base && n < base + size;
          });
        const pool = parseCidr('10.0.0.0/24');
        let reservedCount = 0;
        let outside = 0;
        const inBlock = (n: number) => blocks.some((b) => n >= b.network.w3 >>> 0 && n < (b.network.w3 >>> 0) + 16);
        for (let n = 0x0a000000; n < 0x0a000100; n++) {
          const rs = reservedAt(n);
          expect(r.matchesIP(ipv4FromNumber(n))).toBe(rs);
          if (rs) reservedCount++;
          if (!rs && !inBlock(n)) outside++;
        }
        expect(r.countIn(pool)).toBe(BigInt(reservedCount));
        for (const b of blocks) {
          const base = b.network.w3 >>> 0;
          const states = Array.from({ length: 16 }, (_, i) => reservedAt(base + i));
          expect(r.matchesWholeCidr(b), formatCidr(b)).toBe(states.every(Boolean));
          expect(r.matchesSome(b), formatCidr(b)).toBe(states.some(Boolean));
          const f = r.ordinalFilter(b);
          for (let i = 0; i < 16; i++) expect(f?.(i) ?? false).toBe(states[i]);
        }
        const unique = [...new Map(blocks.map((b) => [formatCidr(b), b])).values()];
        expect(poolSpace(pool, r, unique).availableOutsideBlocks).toBe(BigInt(outside));
      }),
    );
  });
});

const modes: AllocatorMode[] = ['calico', 'split'];

/** The last octet of the /26 block holding `address` (`10.0.0.70/26` → 64). */
const blockBase = (address: string) => Number(address.split('/')[0]!.split('.')[3]) & ~63;

describe.each(modes)('automatic assignment with IPReservations (%s mode)', (mode) => {
  /** calico: ipam_test.go "Reservation tests": pool 10.0.0.0/26, resv1 and resv2. */
  function calicoReservationTest() {
    const h = harness(mode, { pools: [testPool('p', '10.0.0.0/26')], nodes: nodes('allocation-attributes') });
    h.view.reservationList = reservationsFrom([
      one('resv1', '10.0.0.1/32', '10.0.0.32/30'),
      one('resv2', '11.0.0.0/30', '10.0.0.17/32'),
    ]).reservations;
    return h;
  }
  const ask = (num4: number, node = 'allocation-attributes') => ({
    num4,
    num6: 0,
    handleId: 'my-test-handle',
    attrs: { node },
    node,
    use: 'Workload' as const,
  });

  it('asking for all 64 addresses of the pool gives the 58 that are not reserved', async () => {
    const h = calicoReservationTest();
    const r = await h.allocator('allocation-attributes').autoAssign(ask(64));
    const got = r.v4!.ips.map((a) => a.split('/')[0]);
    expect(got).toHaveLength(58);
    for (const a of ['10.0.0.1', '10.0.0.17', '10.0.0.32', '10.0.0.33', '10.0.0.34', '10.0.0.35']) {
      expect(got).not.toContain(a);
    }
    expect(r.v4!.msgs).toEqual(['No IPs available in pools: [10.0.0.0/26]']);
  });

  it('without the reservations all 64 are given', async () => {
    const h = calicoReservationTest();
    h.view.reservationList = Reservations.none;
    const r = await h.allocator('allocation-attributes').autoAssign(ask(64));
    expect(r.v4!.ips).toHaveLength(64);
  });

  it('the first addresses of a fresh block skip a reserved one: .0, .2, .3', async () => {
    const h = calicoReservationTest();
    const r = await h.allocator('allocation-attributes').autoAssign(ask(3));
    expect(r.v4!.ips).toEqual(['10.0.0.0/26', '10.0.0.2/26', '10.0.0.3/26']);
  });

  it('a wholly reserved block is never claimed: the next block of the pool is used', async () => {
    const h = harness(mode, { pools: [testPool('p', '10.0.0.0/25', { blockSize: 26 })], nodes: nodes('n1') });
    h.view.reservationList = of('10.0.0.0/26');
    const r = await h.allocator('n1').autoAssign({ ...ask(2, 'n1') });
    expect(r.v4!.ips).toEqual(['10.0.0.64/26', '10.0.0.65/26']);
    expect(h.store.snapshot().blocks.map((b) => b.value.cidr)).toEqual(['10.0.0.64/26']);
  });

  it("a node's own block reserved after it was claimed is passed over for a new block", async () => {
    const h = harness(mode, { pools: [testPool('p', '10.0.0.0/25', { blockSize: 26 })], nodes: nodes('n1') });
    const first = await h.allocator('n1').autoAssign({ ...ask(1, 'n1'), handleId: 'a' });
    const base = blockBase(first.v4!.ips[0]!);
    h.view.reservationList = of(`10.0.0.${base}/26`);
    const r = await h.allocator('n1').autoAssign({ ...ask(1, 'n1'), handleId: 'b' });
    expect(r.v4!.ips).toEqual([`10.0.0.${64 - base}/26`]);
  });

  it('an address asked for by name is given even when reserved (AssignIP ignores reservations)', async () => {
    const h = calicoReservationTest();
    await h.allocator('allocation-attributes').assignIP({
      ip: '10.0.0.1',
      handleId: 'named',
      attrs: { node: 'allocation-attributes' },
      node: 'allocation-attributes',
    });
    expect(await h.allocator('allocation-attributes').ipsByHandle('named')).toEqual(['10.0.0.1']);
  });

  it('borrowing skips reserved addresses of the blocks it borrows from', async () => {
    // 10.0.0.0/25, blocks of /26: n1 fills its block, n2 takes the other; n1 then borrows from n2's block.
    const h = harness(mode, { pools: [testPool('p', '10.0.0.0/25', { blockSize: 26 })], nodes: nodes('n1', 'n2') });
    const a = await h.allocator('n1').autoAssign({ ...ask(64, 'n1'), handleId: 'a' });
    expect(a.v4!.ips).toHaveLength(64);
    const b = await h.allocator('n2').autoAssign({ ...ask(1, 'n2'), handleId: 'b' });
    const base = blockBase(b.v4!.ips[0]!);
    // Reserve the next two addresses of n2's block: a borrower must step over them.
    h.view.reservationList = of(`10.0.0.${base + 1}`, `10.0.0.${base + 2}`);
    const c = await h.allocator('n1').autoAssign({ ...ask(1, 'n1'), handleId: 'c' });
    expect(c.v4!.ips).toEqual([`10.0.0.${base + 3}/26`]);
  });
});

describe("the operator's pre-claim counts reserved addresses as taken", () => {
  const b = newBlock('10.0.0.0/26', 64, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 1n });
  assignFromHead(b, 10, 'h', null);
  const input = {
    nodes: nodes('n1'),
    pools: [testPool('p', '10.0.0.0/16')],
    config: DEFAULT_IPAM_CONFIG,
    blocks: [b],
    affinities: [
      { node: 'n1', cidr: '10.0.0.0/26', state: 'confirmed' as const, type: 'host' as const, deleted: false },
    ],
  };

  it('54 free of 64: nothing to claim (the watermark is 16)', () => {
    expect(planBlockActions(input)).toEqual([]);
  });

  it('the same block with 10.0.0.16/28 and 10.0.0.32/27 reserved has 6 free: the next block is pre-claimed', () => {
    const actions = planBlockActions({ ...input, reservations: of('10.0.0.16/28', '10.0.0.32/27') });
    expect(actions).toEqual([{ kind: 'claim', node: 'n1', family: 4, pools: ['p'], reason: 'preclaim' }]);
  });
});
