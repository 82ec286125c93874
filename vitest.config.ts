import { defineConfig } from 'vitest/config';

// Three tiers (ARCHITECTURE.md "Test tiers"): unit tests sit beside the code; integration tests run against a real
// kube-apiserver + etcd started by e2e/harness; e2e tests also need Docker and the Linux dataplane — node containers
// driven by cnitool (e2e/dataplane), the packaged image and chart (e2e/packaging), and kubelet clusters with Tabby
// installed by its chart, judged by Kubernetes' sig-network e2e tests (e2e/kubelet).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          environment: 'node',
          // A ceiling, not an expectation: property tests of thousands of runs take 1–2 s on an idle machine and
          // exceeded vitest's 5 s default at a load average of 50 (agent-ipam-fuzz, agent-ipam-wire).
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['e2e/integration/**/*.test.ts'],
          environment: 'node',
          // Ceilings, not expectations: every wait inside a test ends when its condition holds.
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // Each file brings up its own control plane; two cores cannot run many at once.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          // No registry is reachable: testcontainers' reaper image cannot be pulled, and our scripts clean up instead.
          env: { TESTCONTAINERS_RYUK_DISABLED: 'true' },
          include: [
            'e2e/dataplane/**/*.test.ts',
            'e2e/packaging/**/*.test.ts',
            'e2e/kubelet/**/*.test.ts',
            'e2e/chaos/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 900_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
