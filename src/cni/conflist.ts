// Renders the node's CNI network configuration list, `10-tabby.conflist`, shaped like Calico's `10-calico.conflist`
// (calico-user-view.md 2.4): the tabby plugin first (network `k8s-pod-network`, which is also the prefix of every
// pod's IPAM handle), then `portmap` (hostPort) and `bandwidth` chained after it, as Calico ships them. Pure.
import { DEFAULT_AGENT_IPAM_SOCKET, DEFAULT_NETWORK_NAME } from '../api/agent-ipam-wire.js';

export const CONFLIST_FILE_NAME = '10-tabby.conflist';
export const PLUGIN_TYPE = 'tabby-cni';

export interface ConflistOptions {
  /** Network name; Calico's is `k8s-pod-network`. */
  name?: string;
  /**
   * 1.0.0 by default: every maintained runtime (containerd ≥ 1.6, CRI-O) and the reference plugins speak it; a
   * higher version would make an older portmap on the node refuse the chain.
   */
  cniVersion?: string;
  /** Emitted as `cniVersions` (CNI 1.1) so newer runtimes may pick the highest both sides know. */
  cniVersions?: string[];
  nodeName?: string;
  /** Veth MTU; absent or 0 = the node's planned MTU from the agent. */
  mtu?: number;
  agentSocket?: string;
  logLevel?: string;
  logFilePath?: string;
  assignIPv4?: boolean;
  assignIPv6?: boolean;
  portmap?: boolean;
  bandwidth?: boolean;
  pluginType?: string;
}

export function conflistObject(o: ConflistOptions = {}): Record<string, unknown> {
  const main: Record<string, unknown> = {
    type: o.pluginType ?? PLUGIN_TYPE,
    log_level: o.logLevel ?? 'info',
    ...(o.logFilePath === undefined ? {} : { log_file_path: o.logFilePath }),
    ...(o.nodeName === undefined ? {} : { nodename: o.nodeName }),
    ...(o.mtu === undefined || o.mtu === 0 ? {} : { mtu: o.mtu }),
    ipam: {
      type: 'tabby-ipam',
      ...(o.assignIPv4 === false ? { assign_ipv4: 'false' } : {}),
      ...(o.assignIPv6 === true ? { assign_ipv6: 'true' } : {}),
    },
    agent_socket: o.agentSocket ?? DEFAULT_AGENT_IPAM_SOCKET,
  };
  const plugins: Record<string, unknown>[] = [main];
  if (o.portmap ?? true) plugins.push({ type: 'portmap', snat: true, capabilities: { portMappings: true } });
  if (o.bandwidth ?? true) plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } });
  return {
    name: o.name ?? DEFAULT_NETWORK_NAME,
    cniVersion: o.cniVersion ?? '1.0.0',
    ...(o.cniVersions === undefined ? {} : { cniVersions: o.cniVersions }),
    plugins,
  };
}

/** The file's text: two-space JSON and a final newline, byte-stable for the same options. */
export function renderConflist(o: ConflistOptions = {}): string {
  return `${JSON.stringify(conflistObject(o), null, 2)}\n`;
}
