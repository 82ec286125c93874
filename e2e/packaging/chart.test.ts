// The Helm chart without a cluster: `helm lint`, the CRDs it ships (identical to the generated crds/), and
// `helm template` over a values matrix — what the operator Deployment, agent DaemonSet, RBAC, PDB, Services, the
// ValidatingAdmissionPolicy and the validating webhook (Deployment, Service, TLS Secret, configuration) render to,
// values.schema.json refusing bad values with a message naming the field, and every container argument being a flag
// the `tabby` CLI really has.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { KINDS, VALIDATED_KIND_NAMES } from '../../src/api/kinds.js';
import { registerCommands } from '../../src/cli/commands.js';
import { CHART, REPO, helm, mustFind, find, renderChart, type K8sObject } from './support.js';

const NS = 'tabby-system';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string; host?: string; scheme?: string };
  periodSeconds?: number;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy: string;
  args: string[];
  env: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: {
    runAsUser?: number;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
}
interface PodSpec {
  serviceAccountName: string;
  hostNetwork?: boolean;
  priorityClassName?: string;
  tolerations?: Record<string, unknown>[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    updateStrategy?: { type: string; rollingUpdate?: { maxUnavailable: number | string } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface RoleObject extends K8sObject {
  rules: Rule[];
}
interface Binding extends K8sObject {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}
interface ServiceObject extends K8sObject {
  spec: {
    clusterIP?: string;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number | string }[];
  };
}
interface Pdb extends K8sObject {
  spec: { minAvailable: number | string; selector: { matchLabels: Record<string, string> } };
}
interface TlsSecret extends K8sObject {
  type: string;
  data: { 'ca.crt': string; 'tls.crt': string; 'tls.key': string };
}
interface WebhookConfiguration extends K8sObject {
  webhooks: {
    name: string;
    admissionReviewVersions: string[];
    sideEffects: string;
    failurePolicy: string;
    matchPolicy: string;
    timeoutSeconds: number;
    clientConfig: {
      service: { name: string; namespace: string; path: string; port: number };
      caBundle: string;
    };
    rules: { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations: string[]; scope: string }[];
  }[];
}

const operatorOf = (objs: K8sObject[]) => mustFind<Workload>(objs, 'Deployment', 'tabby-operator');
const agentOf = (objs: K8sObject[]) => mustFind<Workload>(objs, 'DaemonSet', 'tabby-agent');
const webhookOf = (objs: K8sObject[]) => mustFind<Workload>(objs, 'Deployment', 'tabby-webhook');
const webhookConfigOf = (objs: K8sObject[]) =>
  mustFind<WebhookConfiguration>(objs, 'ValidatingWebhookConfiguration', 'tabby-calico-validation');
const WEBHOOK_OBJECTS = [
  'Deployment/tabby-webhook',
  'PodDisruptionBudget/tabby-webhook',
  'Secret/tabby-webhook-tls',
  'Service/tabby-webhook',
  'ServiceAccount/tabby-webhook',
  'ValidatingWebhookConfiguration/tabby-calico-validation',
];
const pem = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const container = (w: Workload): Container => w.spec.template.spec.containers[0]!;
const env = (c: Container): Record<string, string> =>
  Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

async function render(values: Record<string, unknown>, namespace = NS): Promise<K8sObject[]> {
  const r = await renderChart(values, { namespace });
  if (!r.ok) throw new Error(`helm template failed:\n${r.stderr}`);
  return r.objects;
}

/** Whether `rules` grant `verb` on `group/resource` (optionally the object `name`). */
function allows(rules: readonly Rule[], verb: string, group: string, resource: string, name?: string): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups ?? []).includes(group) &&
      (r.resources ?? []).includes(resource) &&
      r.verbs.includes(verb) &&
      (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))),
  );
}

describe('helm lint', () => {
  it('passes --strict with the default values', async () => {
    const r = await helm(['lint', '--strict', CHART]);
    expect(r.stderr + r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it('fails on values the schema refuses', async () => {
    const r = await helm([
      'lint',
      CHART,
      '--set',
      'defaultPool.ipipMode=Always',
      '--set',
      'defaultPool.vxlanMode=Always',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('/defaultPool/vxlanMode');
  });
});

describe("the chart's CRDs", () => {
  const chartDir = join(CHART, 'crds');
  const files = (dir: string): string[] =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();

  it('are the generated crds/, file for file and byte for byte', () => {
    const generated = files(join(REPO, 'crds'));
    expect(generated.length).toBeGreaterThanOrEqual(10);
    expect(files(chartDir)).toEqual(generated);
    for (const f of generated) {
      expect(readFileSync(join(chartDir, f), 'utf8'), f).toBe(readFileSync(join(REPO, 'crds', f), 'utf8'));
    }
  });

  it('are what `helm template --include-crds` installs', async () => {
    const r = await renderChart({}, { extraArgs: ['--include-crds'] });
    expect(r.ok, r.stderr).toBe(true);
    const crds = r.objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    expect(crds.sort()).toEqual(
      files(chartDir)
        .map((f) => f.replace(/\.yaml$/, '').split('_'))
        .map(([group, plural]) => `${plural}.${group}`)
        .sort(),
    );
  });
});

describe('helm template with the default values', () => {
  let objs: K8sObject[];
  beforeAll(async () => {
    objs = await render({});
  });

  it('renders exactly the expected objects, namespaced ones in the release namespace', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ClusterRole/tabby-agent',
        'ClusterRole/tabby-operator',
        'ClusterRoleBinding/tabby-agent',
        'ClusterRoleBinding/tabby-operator',
        'DaemonSet/tabby-agent',
        'Deployment/tabby-operator',
        'PodDisruptionBudget/tabby-operator',
        'Role/tabby-agent-secrets',
        'Role/tabby-operator-leader-election',
        'RoleBinding/tabby-agent-secrets',
        'RoleBinding/tabby-operator-leader-election',
        'Service/tabby-agent-metrics',
        'Service/tabby-operator-metrics',
        'ServiceAccount/tabby-agent',
        'ServiceAccount/tabby-operator',
        'ValidatingAdmissionPolicy/tabby-agent-own-node',
        'ValidatingAdmissionPolicyBinding/tabby-agent-own-node',
        ...WEBHOOK_OBJECTS,
      ].sort(),
    );
    const clusterScoped = [
      'ClusterRole',
      'ClusterRoleBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingWebhookConfiguration',
    ];
    for (const o of objs) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(
        clusterScoped.includes(o.kind) ? undefined : NS,
      );
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by'], `${o.kind}/${o.metadata.name}`).toBe('Helm');
    }
  });

  it('operator Deployment: 2 replicas with leader election, probes, resources, non-root, Calico pool env', () => {
    const d = operatorOf(objs);
    const c = container(d);
    const pod = d.spec.template.spec;
    expect(d.spec.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe('tabby-operator');
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(c.image).toBe('tabby:0.1.0');
    expect(c.args).toEqual([
      'operator',
      '--metrics-port=9091',
      '--log-level=info',
      '--leader-elect',
      `--leader-election-namespace=${NS}`,
      '--leader-election-name=tabby-operator',
    ]);
    expect(c.env.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env(c)).toEqual({
      CALICO_IPV4POOL_CREATE: 'true',
      CALICO_IPV4POOL_NAME: 'default-ipv4-ippool',
      CALICO_IPV4POOL_CIDR: '192.168.0.0/16',
      CALICO_IPV4POOL_BLOCK_SIZE: '26',
      CALICO_IPV4POOL_IPIP: 'Always',
      CALICO_IPV4POOL_VXLAN: 'Never',
      CALICO_IPV4POOL_NAT_OUTGOING: 'true',
      CALICO_IPV4POOL_NODE_SELECTOR: 'all()',
      TABBY_BGP_AS_NUMBER: '64512',
      TABBY_BGP_NODE_TO_NODE_MESH: 'true',
      TABBY_MTU: '0',
    });
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9091 }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '512Mi' } });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(d.spec.selector.matchLabels).toEqual(
      Object.fromEntries(
        Object.entries(d.spec.template.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels),
      ),
    );
  });

  it('agent DaemonSet: hostNetwork, root with NET_ADMIN/NET_RAW only, every taint tolerated, rolling update', () => {
    const ds = agentOf(objs);
    const pod = ds.spec.template.spec;
    const c = container(ds);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.serviceAccountName).toBe('tabby-agent');
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    expect(c.securityContext.privileged).toBeUndefined();
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext.capabilities?.drop).toEqual(['ALL']);
    // BIRD listens on port 179, hence NET_BIND_SERVICE; nothing else (no SYS_ADMIN, no privileged).
    expect(c.securityContext.capabilities?.add?.sort()).toEqual(['NET_ADMIN', 'NET_BIND_SERVICE', 'NET_RAW']);
    expect(c.args).toEqual([
      'agent',
      '--node=$(NODE_NAME)',
      '--namespace=$(POD_NAMESPACE)',
      '--metrics-host=$(HOST_IP)',
      '--metrics-port=9092',
      '--log-level=info',
      '--cni-bin-dir=/host/opt/cni/bin',
      '--cni-conf-dir=/host/etc/cni/net.d',
    ]);
    const mounts = Object.fromEntries(
      (c as Container & { volumeMounts: { name: string; mountPath: string }[] }).volumeMounts.map((m) => [
        m.mountPath,
        m.name,
      ]),
    );
    expect(mounts).toMatchObject({
      '/host/opt/cni/bin': 'cni-bin',
      '/host/etc/cni/net.d': 'cni-conf',
      '/var/run/tabby': 'run-tabby',
    });
    const fieldRefs = Object.fromEntries(c.env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    expect(fieldRefs).toEqual({
      NODE_NAME: 'spec.nodeName',
      POD_NAMESPACE: 'metadata.namespace',
      HOST_IP: 'status.hostIP',
    });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9092 }]);
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '384Mi' } });
  });

  it('PodDisruptionBudget keeps one operator and selects exactly its pods', () => {
    const pdb = mustFind<Pdb>(objs, 'PodDisruptionBudget', 'tabby-operator');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(operatorOf(objs).spec.selector.matchLabels);
  });

  it('metrics Services select the pods and target their named metrics ports', () => {
    const op = mustFind<ServiceObject>(objs, 'Service', 'tabby-operator-metrics');
    expect(op.spec.selector).toEqual(operatorOf(objs).spec.selector.matchLabels);
    expect(op.spec.ports).toEqual([{ name: 'metrics', port: 9091, targetPort: 'metrics' }]);
    const ag = mustFind<ServiceObject>(objs, 'Service', 'tabby-agent-metrics');
    expect(ag.spec.clusterIP).toBe('None');
    expect(ag.spec.selector).toEqual(agentOf(objs).spec.selector.matchLabels);
    expect(ag.spec.ports).toEqual([{ name: 'metrics', port: 9092, targetPort: 'metrics' }]);
    // The selectors tell the two components apart.
    expect(op.spec.selector).not.toEqual(ag.spec.selector);
  });

  it('binds each ServiceAccount to its own roles only', () => {
    const bindings = objs.filter((o): o is Binding => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding');
    expect(bindings).toHaveLength(4);
    for (const b of bindings) {
      expect(b.subjects).toEqual([
        { kind: 'ServiceAccount', name: b.roleRef.name.replace(/-(secrets|leader-election)$/, ''), namespace: NS },
      ]);
    }
  });

  it('no RBAC rule uses a wildcard; neither identity reads Secrets cluster-wide', () => {
    const roles = objs.filter((o): o is RoleObject => o.kind === 'ClusterRole' || o.kind === 'Role');
    for (const r of roles) {
      for (const rule of r.rules) {
        expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs], r.metadata.name).not.toContain(
          '*',
        );
      }
    }
    for (const name of ['tabby-agent', 'tabby-operator']) {
      for (const verb of ['get', 'list', 'watch']) {
        expect(allows(mustFind<RoleObject>(objs, 'ClusterRole', name).rules, verb, '', 'secrets')).toBe(false);
      }
    }
  });

  // [identity, verb, group, resource, scope (cluster, or the release namespace), object name, granted]
  type Grant = {
    who: 'agent' | 'operator';
    verb: string;
    group: string;
    resource: string;
    ns?: boolean;
    name?: string;
    granted: boolean;
  };
  const grants: Grant[] = [
    { who: 'agent', verb: 'get', group: 'dataplane.tabby.dev', resource: 'nodedataplanes', granted: true },
    { who: 'agent', verb: 'watch', group: 'dataplane.tabby.dev', resource: 'routetables', granted: true },
    { who: 'agent', verb: 'patch', group: 'dataplane.tabby.dev', resource: 'nodedataplanes/status', granted: true },
    { who: 'agent', verb: 'patch', group: 'dataplane.tabby.dev', resource: 'nodedataplanes', granted: false },
    { who: 'agent', verb: 'create', group: 'dataplane.tabby.dev', resource: 'nodedataplanes', granted: false },
    { who: 'agent', verb: 'delete', group: 'dataplane.tabby.dev', resource: 'nodedataplanes', granted: false },
    { who: 'agent', verb: 'patch', group: 'dataplane.tabby.dev', resource: 'routetables/status', granted: false },
    { who: 'agent', verb: 'patch', group: '', resource: 'nodes', granted: true },
    { who: 'agent', verb: 'delete', group: '', resource: 'nodes', granted: false },
    // Only the NetworkUnavailable condition, which the admission policy checks (agent-rbac.test.ts).
    { who: 'agent', verb: 'patch', group: '', resource: 'nodes/status', granted: true },
    { who: 'agent', verb: 'update', group: '', resource: 'nodes/status', granted: false },
    { who: 'agent', verb: 'create', group: '', resource: 'pods', granted: false },
    { who: 'agent', verb: 'get', group: '', resource: 'namespaces', granted: true },
    { who: 'agent', verb: 'list', group: '', resource: 'namespaces', granted: false },
    { who: 'agent', verb: 'create', group: 'projectcalico.org', resource: 'ippools', granted: false },
    { who: 'agent', verb: 'update', group: 'projectcalico.org', resource: 'ippools', granted: false },
    { who: 'agent', verb: 'delete', group: 'projectcalico.org', resource: 'ippools', granted: false },
    { who: 'agent', verb: 'update', group: 'projectcalico.org', resource: 'ipamblocks', granted: true },
    { who: 'agent', verb: 'create', group: 'projectcalico.org', resource: 'ipamblocks', granted: false },
    { who: 'agent', verb: 'delete', group: 'projectcalico.org', resource: 'ipamblocks', granted: false },
    { who: 'agent', verb: 'create', group: 'projectcalico.org', resource: 'blockaffinities', granted: false },
    { who: 'agent', verb: 'delete', group: 'projectcalico.org', resource: 'blockaffinities', granted: false },
    { who: 'agent', verb: 'create', group: 'projectcalico.org', resource: 'ipamhandles', granted: true },
    { who: 'agent', verb: 'patch', group: 'projectcalico.org', resource: 'ipamconfigurations', granted: false },
    // IPAM history: Events about its pods, created and folded into series; never read, changed or deleted otherwise.
    { who: 'agent', verb: 'create', group: 'events.k8s.io', resource: 'events', granted: true },
    { who: 'agent', verb: 'patch', group: 'events.k8s.io', resource: 'events', granted: true },
    { who: 'agent', verb: 'delete', group: 'events.k8s.io', resource: 'events', granted: false },
    { who: 'agent', verb: 'list', group: 'events.k8s.io', resource: 'events', granted: false },
    { who: 'agent', verb: 'create', group: '', resource: 'events', granted: false },
    { who: 'agent', verb: 'create', group: 'projectcalico.org', resource: 'bgppeers', granted: false },
    // BGP password Secrets are watched by name, never fetched one by one.
    { who: 'agent', verb: 'list', group: '', resource: 'secrets', ns: true, granted: true },
    { who: 'agent', verb: 'watch', group: '', resource: 'secrets', ns: true, granted: true },
    { who: 'agent', verb: 'get', group: '', resource: 'secrets', ns: true, granted: false },
    { who: 'agent', verb: 'create', group: '', resource: 'secrets', ns: true, granted: false },
    { who: 'operator', verb: 'list', group: '', resource: 'nodes', granted: true },
    // Service advertisement reads Services and EndpointSlices through its caches only.
    { who: 'operator', verb: 'watch', group: '', resource: 'services', granted: true },
    { who: 'operator', verb: 'get', group: '', resource: 'services', granted: false },
    { who: 'operator', verb: 'watch', group: 'discovery.k8s.io', resource: 'endpointslices', granted: true },
    { who: 'operator', verb: 'update', group: 'discovery.k8s.io', resource: 'endpointslices', granted: false },
    { who: 'operator', verb: 'watch', group: 'projectcalico.org', resource: 'bgpfilters', granted: true },
    { who: 'operator', verb: 'patch', group: '', resource: 'nodes', granted: true },
    { who: 'operator', verb: 'delete', group: '', resource: 'nodes', granted: false },
    { who: 'operator', verb: 'create', group: 'projectcalico.org', resource: 'ippools', granted: true },
    { who: 'operator', verb: 'update', group: 'projectcalico.org', resource: 'ippools', granted: false },
    { who: 'operator', verb: 'patch', group: 'projectcalico.org', resource: 'ippools', granted: false },
    { who: 'operator', verb: 'delete', group: 'projectcalico.org', resource: 'ippools', granted: false },
    { who: 'operator', verb: 'patch', group: 'projectcalico.org', resource: 'ippools/status', granted: true },
    // The default BGPConfiguration and FelixConfiguration are created, never changed afterwards.
    { who: 'operator', verb: 'create', group: 'projectcalico.org', resource: 'bgpconfigurations', granted: true },
    { who: 'operator', verb: 'patch', group: 'projectcalico.org', resource: 'bgpconfigurations', granted: false },
    { who: 'operator', verb: 'create', group: 'projectcalico.org', resource: 'felixconfigurations', granted: true },
    { who: 'operator', verb: 'update', group: 'projectcalico.org', resource: 'felixconfigurations', granted: false },
    { who: 'operator', verb: 'delete', group: 'projectcalico.org', resource: 'felixconfigurations', granted: false },
    { who: 'operator', verb: 'create', group: 'projectcalico.org', resource: 'ipamblocks', granted: true },
    { who: 'operator', verb: 'delete', group: 'projectcalico.org', resource: 'blockaffinities', granted: true },
    { who: 'operator', verb: 'create', group: 'dataplane.tabby.dev', resource: 'nodedataplanes', granted: true },
    { who: 'operator', verb: 'patch', group: 'dataplane.tabby.dev', resource: 'routetables/status', granted: true },
    { who: 'operator', verb: 'create', group: 'events.k8s.io', resource: 'events', granted: true },
    { who: 'operator', verb: 'get', group: '', resource: 'secrets', ns: true, granted: false },
    { who: 'operator', verb: 'create', group: 'coordination.k8s.io', resource: 'leases', ns: true, granted: true },
    {
      who: 'operator',
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      ns: true,
      name: 'tabby-operator',
      granted: true,
    },
    {
      who: 'operator',
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      ns: true,
      name: 'kube-scheduler',
      granted: false,
    },
  ];
  it.each(grants)(
    '$who $verb $group/$resource $name → $granted',
    ({ who, verb, group, resource, ns, name, granted }) => {
      const cluster = mustFind<RoleObject>(objs, 'ClusterRole', `tabby-${who}`).rules;
      const local = objs
        .filter((o): o is RoleObject => o.kind === 'Role' && o.metadata.name.startsWith(`tabby-${who}-`))
        .flatMap((r) => r.rules);
      expect(allows(ns ? [...cluster, ...local] : cluster, verb, group, resource, name)).toBe(granted);
    },
  );

  it('ValidatingAdmissionPolicy: the agent ServiceAccount of this release, its node from the token, denying', () => {
    interface Vap extends K8sObject {
      spec: {
        failurePolicy: string;
        matchConstraints: { resourceRules: { apiGroups: string[]; resources: string[]; operations: string[] }[] };
        matchConditions: { name: string; expression: string }[];
        variables: { name: string; expression: string }[];
        validations: { expression: string; message?: string; messageExpression?: string; reason: string }[];
      };
    }
    const vap = mustFind<Vap>(objs, 'ValidatingAdmissionPolicy', 'tabby-agent-own-node');
    expect(vap.spec.failurePolicy).toBe('Fail');
    const matched = vap.spec.matchConstraints.resourceRules.flatMap((r) =>
      r.resources.map((res) => `${r.apiGroups[0]}/${res}`),
    );
    expect(matched.sort()).toEqual(
      [
        '/nodes',
        '/nodes/status',
        'dataplane.tabby.dev/nodedataplanes',
        'dataplane.tabby.dev/nodedataplanes/status',
        'projectcalico.org/ipamblocks',
        'projectcalico.org/ipamhandles',
      ].sort(),
    );
    expect(vap.spec.matchConditions).toEqual([
      { name: 'is-tabby-agent', expression: `request.userInfo.username == 'system:serviceaccount:${NS}:tabby-agent'` },
    ]);
    expect(vap.spec.variables.find((v) => v.name === 'node')?.expression).toContain(
      "request.userInfo.extra['authentication.kubernetes.io/node-name']",
    );
    for (const v of vap.spec.validations) {
      expect(v.reason).toBe('Forbidden');
      expect(v.message ?? v.messageExpression).toMatch(/tabby-agent/);
    }
    const binding = mustFind<K8sObject & { spec: { policyName: string; validationActions: string[] } }>(
      objs,
      'ValidatingAdmissionPolicyBinding',
      'tabby-agent-own-node',
    );
    expect(binding.spec).toEqual({ policyName: 'tabby-agent-own-node', validationActions: ['Deny'] });
  });

  it('webhook Deployment: hostNetwork, 2 replicas, non-root, HTTPS probes, the TLS Secret mounted', () => {
    const d = webhookOf(objs);
    const pod = d.spec.template.spec as PodSpec & {
      automountServiceAccountToken?: boolean;
      volumes: { name: string; secret?: { secretName: string } }[];
    };
    const c = container(d) as Container & { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] };
    expect(d.spec.replicas).toBe(2);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.serviceAccountName).toBe('tabby-webhook');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod.tolerations).toEqual(operatorOf(objs).spec.template.spec.tolerations);
    expect(c.image).toBe('tabby:0.1.0');
    expect(c.args).toEqual([
      'webhook',
      '--tls-cert-file=/etc/tabby/webhook-tls/tls.crt',
      '--tls-private-key-file=/etc/tabby/webhook-tls/tls.key',
      '--port=9443',
      '--log-level=info',
    ]);
    expect(c.ports).toEqual([{ name: 'https', containerPort: 9443 }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.volumeMounts).toEqual([{ name: 'tls', mountPath: '/etc/tabby/webhook-tls', readOnly: true }]);
    expect(pod.volumes).toEqual([{ name: 'tls', secret: { secretName: 'tabby-webhook-tls' } }]);
    expect(d.spec.template.metadata.labels).toEqual(d.spec.selector.matchLabels);
    expect(d.spec.selector.matchLabels).not.toEqual(operatorOf(objs).spec.selector.matchLabels);
    expect(mustFind<Pdb>(objs, 'PodDisruptionBudget', 'tabby-webhook').spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: d.spec.selector.matchLabels },
    });
  });

  it('webhook Service selects exactly its pods; the configuration calls it at /validate on its port', () => {
    const svc = mustFind<ServiceObject>(objs, 'Service', 'tabby-webhook');
    expect(svc.spec.selector).toEqual(webhookOf(objs).spec.selector.matchLabels);
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https' }]);
    const hook = webhookConfigOf(objs).webhooks;
    expect(hook).toHaveLength(1);
    expect(hook[0]!.clientConfig.service).toEqual({
      name: 'tabby-webhook',
      namespace: NS,
      path: '/validate',
      port: 443,
    });
  });

  it('webhook configuration: create and update of the kinds users write, failing closed, no side effects', () => {
    const [hook] = webhookConfigOf(objs).webhooks;
    expect(hook).toMatchObject({
      name: 'calico-v3.validation.tabby.dev',
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      timeoutSeconds: 10,
    });
    // The kinds issue 18 names, not their status nor the IPAM kinds the components write.
    const resources = [
      'ippools',
      'bgpconfigurations',
      'bgppeers',
      'bgpfilters',
      'ipreservations',
      'ipamconfigurations',
      'felixconfigurations',
    ];
    expect(hook!.rules).toEqual([
      {
        apiGroups: ['projectcalico.org'],
        apiVersions: ['v3'],
        resources,
        operations: ['CREATE', 'UPDATE'],
        scope: 'Cluster',
      },
    ]);
    // ... which are exactly the kinds the webhook judges.
    const judged = VALIDATED_KIND_NAMES.map((k) => KINDS.find((d) => d.kind === k)!.plural);
    expect([...judged].sort()).toEqual([...resources].sort());
  });

  it('webhook TLS: a CA the configuration trusts signs a serving certificate for the Service names, with its key', () => {
    const s = mustFind<TlsSecret>(objs, 'Secret', 'tabby-webhook-tls');
    expect(s.type).toBe('kubernetes.io/tls');
    const ca = new X509Certificate(pem(s.data['ca.crt']));
    const cert = new X509Certificate(pem(s.data['tls.crt']));
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(pem(s.data['tls.key'])))).toBe(true);
    for (const name of ['tabby-webhook', `tabby-webhook.${NS}`, `tabby-webhook.${NS}.svc`]) {
      expect(cert.checkHost(name), name).toBe(name);
    }
    expect(cert.checkHost('tabby-webhook.other.svc')).toBeUndefined();
    // 3650 days by default.
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(3650);
    expect(webhookConfigOf(objs).webhooks[0]!.clientConfig.caBundle).toBe(s.data['ca.crt']);
    // A new certificate rolls the pods, which read it at start.
    const annotations = (webhookOf(objs).spec.template.metadata as { annotations?: Record<string, string> })
      .annotations;
    expect(annotations?.['checksum/tls']).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('container arguments are flags the tabby CLI has', () => {
  const program = new Command('tabby');
  registerCommands(program);
  const flagsOf = (sub: string): Set<string> => {
    const cmd = program.commands.find((c) => c.name() === sub);
    if (!cmd) throw new Error(`tabby has no '${sub}' command`);
    return new Set(cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
  };

  it.each([
    { name: 'operator Deployment', pick: operatorOf, values: { operator: { leaderElection: true } } },
    { name: 'agent DaemonSet', pick: agentOf, values: {} },
    { name: 'webhook Deployment', pick: webhookOf, values: {} },
  ])('$name', async ({ pick, values }) => {
    const [sub, ...args] = container(pick(await render(values))).args;
    const known = flagsOf(sub!);
    for (const a of args) expect(known, `${sub} ${a}`).toContain(a.split('=')[0]);
  });
});

describe('helm template over a values matrix', () => {
  const rows: {
    name: string;
    values: Record<string, unknown>;
    namespace?: string;
    check(objs: K8sObject[]): void;
  }[] = [
    {
      name: 'VXLAN pool: CIDR, block size and modes reach the operator as CALICO_IPV4POOL_*',
      values: {
        defaultPool: {
          cidr: '10.244.0.0/16',
          blockSize: 24,
          ipipMode: 'Never',
          vxlanMode: 'Always',
          natOutgoing: false,
        },
      },
      check: (objs) =>
        expect(env(container(operatorOf(objs)))).toMatchObject({
          CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
          CALICO_IPV4POOL_BLOCK_SIZE: '24',
          CALICO_IPV4POOL_IPIP: 'Never',
          CALICO_IPV4POOL_VXLAN: 'Always',
          CALICO_IPV4POOL_NAT_OUTGOING: 'false',
        }),
    },
    {
      name: 'VXLAN CrossSubnet with IPIP Never',
      values: { defaultPool: { ipipMode: 'Never', vxlanMode: 'CrossSubnet' } },
      check: (objs) =>
        expect(env(container(operatorOf(objs)))).toMatchObject({
          CALICO_IPV4POOL_IPIP: 'Never',
          CALICO_IPV4POOL_VXLAN: 'CrossSubnet',
        }),
    },
    {
      name: 'replicas 1: no PodDisruptionBudget (it would block every drain)',
      values: { operator: { replicas: 1 } },
      check: (objs) => {
        expect(operatorOf(objs).spec.replicas).toBe(1);
        expect(find(objs, 'PodDisruptionBudget', 'tabby-operator')).toBeUndefined();
      },
    },
    {
      name: 'replicas 3, minAvailable 2',
      values: { operator: { replicas: 3, podDisruptionBudget: { minAvailable: 2 } } },
      check: (objs) => {
        expect(operatorOf(objs).spec.replicas).toBe(3);
        expect(mustFind<Pdb>(objs, 'PodDisruptionBudget', 'tabby-operator').spec.minAvailable).toBe(2);
      },
    },
    {
      name: 'leader election off: no lease flags',
      values: { operator: { replicas: 1, leaderElection: false } },
      check: (objs) => expect(container(operatorOf(objs)).args.filter((a) => a.startsWith('--leader'))).toEqual([]),
    },
    {
      name: 'custom image repository, tag and pull policy on both workloads',
      values: { image: { repository: 'registry.example.com/net/tabby', tag: '1.2.3-rc.1', pullPolicy: 'Always' } },
      check: (objs) => {
        for (const w of [operatorOf(objs), agentOf(objs)]) {
          expect(container(w).image).toBe('registry.example.com/net/tabby:1.2.3-rc.1');
          expect(container(w).imagePullPolicy).toBe('Always');
        }
      },
    },
    {
      name: 'mtu 1400, BGP AS 65010 without the mesh',
      values: { mtu: 1400, bgp: { asNumber: 65010, nodeToNodeMesh: false } },
      check: (objs) =>
        expect(env(container(operatorOf(objs)))).toMatchObject({
          TABBY_MTU: '1400',
          TABBY_BGP_AS_NUMBER: '65010',
          TABBY_BGP_NODE_TO_NODE_MESH: 'false',
        }),
    },
    {
      name: 'no default pool',
      values: { defaultPool: { enabled: false } },
      check: (objs) => expect(env(container(operatorOf(objs))).CALICO_IPV4POOL_CREATE).toBe('false'),
    },
    {
      name: 'log levels, metrics ports and resources',
      values: {
        operator: { logLevel: 'debug', metricsPort: 19091, resources: { requests: { cpu: '10m' } } },
        agent: { logLevel: 'warn', metricsPort: 19092 },
      },
      check: (objs) => {
        const op = container(operatorOf(objs));
        expect(op.args).toEqual(expect.arrayContaining(['--log-level=debug', '--metrics-port=19091']));
        expect(op.ports).toEqual([{ name: 'metrics', containerPort: 19091 }]);
        // Helm merges maps: the memory request and limit of the defaults stay.
        expect(op.resources).toEqual({ requests: { cpu: '10m', memory: '96Mi' }, limits: { memory: '512Mi' } });
        expect(container(agentOf(objs)).args).toEqual(
          expect.arrayContaining(['--log-level=warn', '--metrics-port=19092']),
        );
        expect(mustFind<ServiceObject>(objs, 'Service', 'tabby-operator-metrics').spec.ports[0]!.port).toBe(19091);
        expect(mustFind<ServiceObject>(objs, 'Service', 'tabby-agent-metrics').spec.ports[0]!.port).toBe(19092);
      },
    },
    {
      name: 'webhook disabled: none of its objects',
      values: { webhook: { enabled: false } },
      check: (objs) => {
        const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
        for (const w of WEBHOOK_OBJECTS) expect(names).not.toContain(w);
        expect(names).toContain('Deployment/tabby-operator');
      },
    },
    {
      name: 'webhook: one replica (no PDB), port, failure policy, timeout, log level, certificate validity',
      values: {
        webhook: {
          replicas: 1,
          port: 10443,
          failurePolicy: 'Ignore',
          timeoutSeconds: 5,
          logLevel: 'debug',
          certValidityDays: 30,
        },
      },
      check: (objs) => {
        const d = webhookOf(objs);
        expect(d.spec.replicas).toBe(1);
        expect(find(objs, 'PodDisruptionBudget', 'tabby-webhook')).toBeUndefined();
        expect(container(d).args).toEqual(expect.arrayContaining(['--port=10443', '--log-level=debug']));
        expect(container(d).ports).toEqual([{ name: 'https', containerPort: 10443 }]);
        expect(webhookConfigOf(objs).webhooks[0]).toMatchObject({ failurePolicy: 'Ignore', timeoutSeconds: 5 });
        const cert = new X509Certificate(pem(mustFind<TlsSecret>(objs, 'Secret', 'tabby-webhook-tls').data['tls.crt']));
        expect(Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000)).toBe(30);
      },
    },
    {
      name: 'another release namespace: the certificate names the Service there',
      values: {},
      namespace: 'net-system',
      check: (objs) => {
        const cert = new X509Certificate(pem(mustFind<TlsSecret>(objs, 'Secret', 'tabby-webhook-tls').data['tls.crt']));
        expect(cert.checkHost('tabby-webhook.net-system.svc')).toBe('tabby-webhook.net-system.svc');
        expect(webhookConfigOf(objs).webhooks[0]!.clientConfig.service.namespace).toBe('net-system');
      },
    },
    {
      name: 'agent tolerations and update strategy from values',
      values: {
        agent: {
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' }],
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '20%' } },
        },
      },
      check: (objs) => {
        const ds = agentOf(objs);
        expect(ds.spec.template.spec.tolerations).toEqual([
          { key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' },
        ]);
        expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '20%' } });
      },
    },
  ];
  it.each(rows)('$name', async ({ values, namespace, check }) => {
    check(await render(values, namespace));
  });
});

describe('values.schema.json refuses invalid values, naming the field', () => {
  const rows: { name: string; values: Record<string, unknown>; message: RegExp[] }[] = [
    {
      name: 'ipipMode and vxlanMode both Always',
      values: { defaultPool: { ipipMode: 'Always', vxlanMode: 'Always' } },
      message: [/\/defaultPool\/vxlanMode/, /must be 'Never'/],
    },
    {
      name: 'ipipMode CrossSubnet with vxlanMode Always',
      values: { defaultPool: { ipipMode: 'CrossSubnet', vxlanMode: 'Always' } },
      message: [/\/defaultPool\/vxlanMode/, /must be 'Never'/],
    },
    {
      name: 'an unknown encapsulation mode',
      values: { defaultPool: { ipipMode: 'Sometimes' } },
      message: [/\/defaultPool\/ipipMode/, /Always.*CrossSubnet.*Never/],
    },
    { name: 'a CIDR that is not one', values: { defaultPool: { cidr: '10.0.0.0' } }, message: [/\/defaultPool\/cidr/] },
    {
      name: 'an octet above 255',
      values: { defaultPool: { cidr: '10.300.0.0/16' } },
      message: [/\/defaultPool\/cidr/],
    },
    {
      name: 'an IPv6 CIDR for the IPv4 pool',
      values: { defaultPool: { cidr: 'fd00::/48' } },
      message: [/\/defaultPool\/cidr/],
    },
    { name: 'block size 33', values: { defaultPool: { blockSize: 33 } }, message: [/\/defaultPool\/blockSize/, /32/] },
    {
      name: 'block size 19 (Calico: 20..32 for IPv4)',
      values: { defaultPool: { blockSize: 19 } },
      message: [/\/defaultPool\/blockSize/, /20/],
    },
    { name: 'no operator replicas', values: { operator: { replicas: 0 } }, message: [/\/operator\/replicas/] },
    { name: 'a misspelt key', values: { operator: { replica: 2 } }, message: [/\/operator/, /replica/] },
    { name: 'a negative MTU', values: { mtu: -1 }, message: [/\/mtu/] },
    { name: 'AS number 0', values: { bgp: { asNumber: 0 } }, message: [/\/bgp\/asNumber/] },
    { name: 'an empty image repository', values: { image: { repository: '' } }, message: [/\/image\/repository/] },
    {
      name: 'a webhook timeout over the apiserver limit of 30 s',
      values: { webhook: { timeoutSeconds: 31 } },
      message: [/\/webhook\/timeoutSeconds/],
    },
    {
      name: 'a webhook failure policy that is neither Fail nor Ignore',
      values: { webhook: { failurePolicy: 'Open' } },
      message: [/\/webhook\/failurePolicy/, /Fail.*Ignore/],
    },
    { name: 'webhook port 0', values: { webhook: { port: 0 } }, message: [/\/webhook\/port/] },
  ];
  it.each(rows)('$name', async ({ values, message }) => {
    const r = await renderChart(values);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    for (const m of message) expect(r.stderr).toMatch(m);
  });

  it('the templates refuse both encapsulations too when schema validation is skipped', async () => {
    const r = await renderChart(
      { defaultPool: { ipipMode: 'Always', vxlanMode: 'CrossSubnet' } },
      { extraArgs: ['--skip-schema-validation'] },
    );
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain(
      'defaultPool: ipipMode Always and vxlanMode CrossSubnet cannot both be enabled; set one of them to Never',
    );
  });
});
