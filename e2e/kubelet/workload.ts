// A workload to look at on a kubelet cluster: agnhost netexec pods (HTTP on 8080, UDP on 8081) spread over the
// nodes, a ClusterIP Service in front of them, and the connectivity matrix between them — every pod fetches
// /hostname from every other pod and from the Service, inside one `kubectl exec` per source pod.
import { agnhostImage } from './images.js';
import type { KubeCluster } from './kube-cluster.js';

export interface NetPod {
  name: string;
  node: string;
  ip: string;
}

export function netexecManifests(name: string, namespace: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: DoNotSchedule
          labelSelector: { matchLabels: { app: ${name} } }
      containers:
        - name: agnhost
          image: ${agnhostImage()}
          args: [netexec, --http-port=8080, --udp-port=8081]
          readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 2 }
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;
}

interface PodList {
  items: { metadata: { name: string }; spec: { nodeName: string }; status: { podIP?: string } }[];
}

/** Applies the Deployment and Service and waits until every replica is Ready; returns the pods by node. */
export async function deployNetexec(
  c: KubeCluster,
  name: string,
  namespace: string,
  replicas: number,
): Promise<NetPod[]> {
  await c.kubectl(['apply', '-f', '-'], { input: netexecManifests(name, namespace, replicas) });
  await c.kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=180s'], {
    timeoutMs: 200_000,
  });
  const pods = await c.getJson<PodList>(['get', 'pods', '-n', namespace, '-l', `app=${name}`]);
  return pods.items
    .map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, ip: p.status.podIP ?? '' }))
    .sort((a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name));
}

export interface Matrix {
  /** rows[source][target]: the hostname that answered, or an error text. */
  answers: Map<string, Map<string, string>>;
  failures: string[];
}

/**
 * From every pod, HTTP GET /hostname of every other pod and of the Service's ClusterIP. A pod answers with its own
 * name; the Service with one of the pods'.
 */
export async function connectivityMatrix(
  c: KubeCluster,
  namespace: string,
  pods: NetPod[],
  serviceIP: string,
): Promise<Matrix> {
  const answers = new Map<string, Map<string, string>>();
  const failures: string[] = [];
  const targets = [
    ...pods.map((p) => ({ key: p.name, url: `http://${p.ip}:8080/hostname` })),
    { key: 'svc', url: `http://${serviceIP}/hostname` },
  ];
  await Promise.all(
    pods.map(async (src) => {
      const script = targets
        .map((t) => `printf '%s ' ${t.key}; curl -s -m 5 ${t.url} || printf 'FAIL(curl %s)' $?; echo`)
        .join('\n');
      const row = new Map<string, string>();
      const out = await c
        .kubectl(['exec', '-n', namespace, src.name, '--', 'sh', '-c', script])
        .catch((e: Error) => e.message);
      for (const line of out.split('\n')) {
        const [key, ...rest] = line.trim().split(' ');
        if (key) row.set(key, rest.join(' '));
      }
      for (const t of targets) {
        const got = row.get(t.key) ?? 'no answer';
        const ok = t.key === 'svc' ? pods.some((p) => p.name === got) : got === t.key;
        if (!ok) failures.push(`${src.name}@${src.node} -> ${t.key}: ${got}`);
      }
      answers.set(src.name, row);
    }),
  );
  return { answers, failures: failures.sort() };
}

/** The matrix as a table: a row per source pod, a column per target, `ok` or `FAIL`. */
export function formatMatrix(pods: NetPod[], m: Matrix): string {
  const header = ['from \\ to', ...pods.map((p) => p.name.slice(-5)), 'svc'];
  const rows = pods.map((src) => {
    const row = m.answers.get(src.name);
    return [
      `${src.name.slice(-5)}@${src.node} ${src.ip}`,
      ...pods.map((t) => (row?.get(t.name) === t.name ? 'ok' : 'FAIL')),
      pods.some((p) => p.name === row?.get('svc')) ? `ok(${row!.get('svc')!.slice(-5)})` : 'FAIL',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}
