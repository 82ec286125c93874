// Renders a KernelPlan as `ip -batch` and `bridge -batch` input, and maps batch failures back to objects.
//
// Inputs: KernelPlan, the agent's route protocol. Outputs: one list of `ip` batch lines (devices, addresses,
// neighbours, routes — in plan order) and one list of `bridge` batch lines (FDB entries: `ip` has no FDB command),
// each line paired with the object it changes so an error names it (`route 10.0.1.0/26: Nexthop has invalid
// gateway`).
// Invariants: pure; every route line carries `proto <N>`, so a delete can only ever hit a route the agent made
// (`ip route del <dst> proto <N>` does not match another protocol's route); new routes use `add`, which fails with
// "File exists" on another protocol's route instead of overwriting it; `replace` only changes routes the agent holds.
import type { KernelPlan } from '../kernel-diff.js';
import type { RouteSpec, TunnelDeviceSpec } from '../kernel-model.js';

export interface BatchLine {
  text: string;
  /** What the line changes, for error messages: `route 10.0.1.0/26`, `device vxlan.calico`. */
  object: string;
}

export interface RenderedBatches {
  ip: BatchLine[];
  bridge: BatchLine[];
}

function deviceAdd(d: TunnelDeviceSpec): string {
  // Loading the ipip module creates tunl0 in every namespace, so this add may meet an existing tunl0 ("File exists",
  // which the dataplane ignores for this line); the MTU is set by the `link set` that follows either way.
  if (d.kind === 'ipip') return `link add name ${d.name} type ipip`;
  const parts = [`link add name ${d.name}`];
  if (d.mac !== undefined) parts.push(`address ${d.mac}`);
  parts.push(`mtu ${d.mtu} type vxlan id ${d.vni} dstport ${d.port}`);
  if (d.local !== undefined) parts.push(`local ${d.local}`);
  if (d.parent !== undefined) parts.push(`dev ${d.parent}`);
  parts.push('nolearning');
  return parts.join(' ');
}

export function routeLine(verb: 'add' | 'replace' | 'del', r: RouteSpec, proto: number): string {
  if (verb === 'del') return `route del ${r.dst} proto ${proto}`;
  if (r.type === 'blackhole') return `route ${verb} blackhole ${r.dst} proto ${proto}`;
  const parts = [`route ${verb} ${r.dst} via ${r.via ?? ''}`];
  if (r.dev !== undefined) parts.push(`dev ${r.dev}`);
  parts.push(`proto ${proto}`);
  if (r.onlink) parts.push('onlink');
  return parts.join(' ');
}

export function renderBatches(plan: KernelPlan, routeProtocol: number): RenderedBatches {
  const ip: BatchLine[] = [];
  const bridge: BatchLine[] = [];
  for (const name of plan.linkDeletes) ip.push({ text: `link del dev ${name}`, object: `device ${name}` });
  for (const d of plan.linkAdds) {
    ip.push({ text: deviceAdd(d), object: `device ${d.name}` });
    ip.push({
      text: `link set dev ${d.name}${d.kind === 'ipip' ? ` mtu ${d.mtu}` : ''} up`,
      object: `device ${d.name}`,
    });
  }
  for (const u of plan.linkUpdates) {
    const parts = [`link set dev ${u.name}`];
    if (u.mac !== undefined) parts.push(`address ${u.mac}`);
    if (u.mtu !== undefined) parts.push(`mtu ${u.mtu}`);
    if (u.up) parts.push('up');
    ip.push({ text: parts.join(' '), object: `device ${u.name}` });
  }
  for (const a of plan.addressDeletes) {
    ip.push({ text: `address del ${a.cidr} dev ${a.dev}`, object: `address ${a.cidr} on ${a.dev}` });
  }
  for (const a of plan.addressAdds) {
    ip.push({ text: `address replace ${a.cidr} dev ${a.dev}`, object: `address ${a.cidr} on ${a.dev}` });
  }
  for (const n of plan.neighbourDeletes) {
    ip.push({ text: `neigh del ${n.ip} dev ${n.dev}`, object: `neighbour ${n.ip} on ${n.dev}` });
  }
  for (const n of plan.neighbourSets) {
    ip.push({
      text: `neigh replace ${n.ip} lladdr ${n.mac} dev ${n.dev} nud permanent`,
      object: `neighbour ${n.ip} on ${n.dev}`,
    });
  }
  for (const f of plan.fdbDeletes) {
    bridge.push({ text: `fdb del ${f.mac} dev ${f.dev} dst ${f.dst} self`, object: `fdb ${f.mac} on ${f.dev}` });
  }
  for (const f of plan.fdbSets) {
    bridge.push({
      text: `fdb replace ${f.mac} dev ${f.dev} dst ${f.dst} self permanent`,
      object: `fdb ${f.mac} on ${f.dev}`,
    });
  }
  for (const r of plan.routeDeletes) ip.push({ text: routeLine('del', r, routeProtocol), object: `route ${r.dst}` });
  for (const r of plan.routeAdds) ip.push({ text: routeLine('add', r, routeProtocol), object: `route ${r.dst}` });
  for (const r of plan.routeReplaces)
    ip.push({ text: routeLine('replace', r, routeProtocol), object: `route ${r.dst}` });
  for (const name of plan.linkRetires) ip.push({ text: `link del dev ${name}`, object: `device ${name}` });
  return { ip, bridge };
}

export function batchInput(lines: readonly BatchLine[]): string {
  let s = '';
  for (const l of lines) s += l.text + '\n';
  return s;
}

export interface BatchFailure {
  /** 1-based line number in the batch. */
  line: number;
  object: string;
  message: string;
}

/**
 * iproute2 with `-force` prints each failing command's error, then `Command failed -:<line>`; everything between
 * two such markers belongs to the later one.
 */
export function parseBatchErrors(stderr: string, lines: readonly BatchLine[]): BatchFailure[] {
  const out: BatchFailure[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^Command failed (?:-|\S+):(\d+)$/.exec(line);
    if (m) {
      const n = Number(m[1]);
      const l = lines[n - 1];
      out.push({
        line: n,
        object: l?.object ?? `batch line ${n}`,
        message: pending.length > 0 ? pending.join('; ') : 'failed',
      });
      pending = [];
    } else pending.push(line);
  }
  if (pending.length > 0) out.push({ line: 0, object: 'batch', message: pending.join('; ') });
  return out;
}
