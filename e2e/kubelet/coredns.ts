// The cluster DNS add-on as kubeadm installs it (ServiceAccount, RBAC, Corefile, Deployment, the kube-dns Service at
// the address kubelets hand to pods), with the CoreDNS image built here. kubeadm's Corefile forwards what the cluster
// does not know to the node's resolver; here nothing outside this machine may be asked, so the upstream is a second
// server block in the same CoreDNS that knows no names (NXDOMAIN, as the internet answers for a name that does not
// exist). Search lists then work as on any cluster; tests that need real names are excluded.
import { COREDNS_IMAGE } from './images.js';
import { CLUSTER_DNS_IP, CLUSTER_DOMAIN } from './node-config.js';

export function corednsManifests(replicas = 2): string {
  return `apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - { apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . 127.0.0.1:5300
        cache 30
        loop
        reload
        loadbalance
    }
    .:5300 {
        template ANY ANY {
           rcode NXDOMAIN
        }
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: { k8s-app: kube-dns }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: { matchLabels: { k8s-app: kube-dns } }
      containers:
        - name: coredns
          image: ${COREDNS_IMAGE}
          imagePullPolicy: IfNotPresent
          args: [-conf, /etc/coredns/Corefile]
          volumeMounts: [{ name: config-volume, mountPath: /etc/coredns, readOnly: true }]
          ports:
            - { containerPort: 53, name: dns, protocol: UDP }
            - { containerPort: 53, name: dns-tcp, protocol: TCP }
            - { containerPort: 9153, name: metrics, protocol: TCP }
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: { add: [NET_BIND_SERVICE], drop: [ALL] }
            readOnlyRootFilesystem: true
          livenessProbe:
            httpGet: { path: /health, port: 8080 }
            initialDelaySeconds: 60
            timeoutSeconds: 5
            failureThreshold: 5
          readinessProbe:
            httpGet: { path: /ready, port: 8181 }
      volumes:
        - name: config-volume
          configMap: { name: coredns, items: [{ key: Corefile, path: Corefile }] }
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: { k8s-app: kube-dns, kubernetes.io/cluster-service: "true", kubernetes.io/name: CoreDNS }
spec:
  selector: { k8s-app: kube-dns }
  clusterIP: ${CLUSTER_DNS_IP}
  ports:
    - { name: dns, port: 53, protocol: UDP }
    - { name: dns-tcp, port: 53, protocol: TCP }
    - { name: metrics, port: 9153, protocol: TCP }
`;
}
