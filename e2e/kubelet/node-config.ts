// What a kubelet node's /etc/kubernetes holds (the node entrypoint, e2e/images/kube-node-entrypoint.sh, starts the
// daemons with it): kubelet's and kube-proxy's configuration files and kubeconfigs with their own identities.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ControlPlane } from '../harness/index.js';

export const CLUSTER_DOMAIN = 'cluster.local';
/** The cluster DNS Service's ClusterIP (kubeadm's choice: the tenth address of the Service range). */
export const CLUSTER_DNS_IP = '10.96.0.10';

/**
 * kubelet in a container on a cgroup v1 host without systemd: cgroupfs under the `kubelet` cgroup the entrypoint
 * makes, cgroup v1 allowed, swap tolerated; it never garbage-collects or evicts for disk (a node container shares
 * the host's disk, and no image could be pulled back). Authentication by client certificate (the apiserver's) or
 * token review, authorization by SubjectAccessReview, as kubeadm configures it.
 */
export function kubeletConfig(): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: /etc/kubernetes/pki/ca.crt }
authorization: { mode: Webhook }
cgroupDriver: cgroupfs
cgroupRoot: /kubelet
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDNS: [${CLUSTER_DNS_IP}]
clusterDomain: ${CLUSTER_DOMAIN}
resolvConf: /etc/kubernetes/resolv.conf
imageGCHighThresholdPercent: 100
evictionHard: { nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%" }
rotateCertificates: false
serializeImagePulls: false
`;
}

/** kube-proxy in iptables mode, leaving the host-wide conntrack sysctls alone (0 = do not set). */
export function kubeProxyConfig(): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: /etc/kubernetes/kube-proxy.kubeconfig }
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`;
}

/**
 * Writes a node's /etc/kubernetes into `dir`: kubelet's kubeconfig as `system:node:<name>` in `system:nodes` (what
 * the Node authorizer and NodeRestriction know), kube-proxy's as `system:kube-proxy` (bound to
 * system:node-proxier by the default RBAC policy), both pointing at `server`, the CA, and the configurations.
 */
export async function writeNodeConfig(cp: ControlPlane, node: string, server: string, dir: string): Promise<void> {
  await mkdir(join(dir, 'pki'), { recursive: true });
  await writeFile(join(dir, 'pki', 'ca.crt'), await readFile(cp.caCertPath));
  await writeFile(
    join(dir, 'kubelet.kubeconfig'),
    await cp.inlineKubeconfig(server, { user: `system:node:${node}`, groups: ['system:nodes'] }),
  );
  await writeFile(join(dir, 'kube-proxy.kubeconfig'), await cp.inlineKubeconfig(server, { user: 'system:kube-proxy' }));
  await writeFile(join(dir, 'kubelet.yaml'), kubeletConfig());
  await writeFile(join(dir, 'kube-proxy.yaml'), kubeProxyConfig());
  // Pods with dnsPolicy Default get the node's resolver; nothing outside this machine answers, so there is none.
  await writeFile(join(dir, 'resolv.conf'), '# no upstream resolver: test traffic stays on this machine\n');
}
