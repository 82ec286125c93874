// At start, the agent writes its node's `projectcalico.org/IPv4Address` annotation from autodetection, as
// calico-node does on every start (so a node whose address changed is re-announced); node-address.ts chooses.
// When nothing is found the annotation is left as it is and the planner falls back to the Node's InternalIP.
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import { createProcessRunner } from './linux/command-runner.js';
import {
  IPV4_ADDRESS_ANNOTATION,
  detectNodeAddress,
  hostAddressesFromIpJson,
  type AutodetectMethod,
} from './node-address.js';

export async function annotateNodeAddress(opts: {
  client: KubeClient;
  nodeName: string;
  method: AutodetectMethod;
  logger: Logger;
}): Promise<string | undefined> {
  const r = await createProcessRunner().run(['ip', '-json', '-4', 'address', 'show']);
  if (r.code !== 0) throw new Error(`ip -json -4 address show failed (${r.code}): ${r.stderr.trim()}`);
  const node = await opts.client.nodes().get(opts.nodeName);
  const internal = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
  const detected = detectNodeAddress(opts.method, hostAddressesFromIpJson(JSON.parse(r.stdout)), internal);
  const current = node.metadata.annotations?.[IPV4_ADDRESS_ANNOTATION];
  if (detected === undefined) {
    opts.logger.warn(
      { method: opts.method.kind, current: current ?? null, internalIPs: internal },
      'no IPv4 address autodetected; the node annotation is left as it is',
    );
    return current;
  }
  if (detected !== current) {
    await opts.client
      .nodes()
      .mergePatch(opts.nodeName, { metadata: { annotations: { [IPV4_ADDRESS_ANNOTATION]: detected } } });
  }
  opts.logger.info({ address: detected, previous: current ?? null, method: opts.method.kind }, 'node address');
  return detected;
}
