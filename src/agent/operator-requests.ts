// The agent's side of src/api/ipam-request.ts: the IPAM requests it is waiting on the operator for, written to the
// annotation on its own Node.
//
// Invariants:
// - The annotation always converges to the current set of open requests: writes are serialised, and a change during
//   a write causes one more write of the then-current set (a burst of pod starts costs a few writes, not one each).
// - A failed write is logged and retried on the next change or after `retryMs`; it never fails the pod's request
//   (the agent then waits its normal time and the CNI plugin answers "try again later").
import {
  IPAM_REQUEST_ANNOTATION,
  IPAM_REQUEST_RESULT_ANNOTATION,
  type IpamRequest,
  type IpamRequestBody,
  formatIpamRequests,
  parseIpamRequestFailures,
} from '../api/ipam-request.js';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log/logger.js';

export interface OperatorRequests {
  /** Starts asking; returns the request's id. */
  open(request: IpamRequestBody): string;
  close(id: string): void;
  /** The operator's answer when it cannot serve the open request `id` (e.g. `noFreeBlocks`); else undefined. */
  failure(id: string): string | undefined;
}

export interface NodeOperatorRequests extends OperatorRequests {
  /** Resolves when the annotation shows the current set (tests, shutdown). */
  settled(): Promise<void>;
}

export function createNodeOperatorRequests(o: {
  client: KubeClient;
  nodeName: string;
  log: Logger;
  /** The Node's annotations as the agent's watch shows them (where the operator's answers arrive). */
  nodeAnnotations: () => Readonly<Record<string, string>> | undefined;
  retryMs?: number;
}): NodeOperatorRequests {
  const open = new Map<string, IpamRequest>();
  const prefix = Date.now().toString(36);
  let seq = 0;
  let written: string | null | undefined; // what the annotation holds, as far as this agent knows
  let running: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  const current = () => formatIpamRequests([...open.values()]);

  async function writeLoop(): Promise<void> {
    for (;;) {
      const want = current();
      if (want === written) return;
      try {
        await o.client
          .nodes()
          .mergePatch(o.nodeName, { metadata: { annotations: { [IPAM_REQUEST_ANNOTATION]: want } } });
        written = want;
        o.log.debug({ node: o.nodeName, requests: open.size }, 'IPAM requests written');
      } catch (e) {
        o.log.warn({ node: o.nodeName, err: (e as Error).message }, 'cannot write IPAM requests to the Node');
        retry ??= setTimeout(() => {
          retry = undefined;
          kick();
        }, o.retryMs ?? 1000);
        retry.unref();
        return;
      }
    }
  }

  function kick(): void {
    if (running) return;
    running = writeLoop().finally(() => {
      running = undefined;
      // A change made after the loop's last comparison: write again.
      if (current() !== written && retry === undefined) kick();
    });
  }

  return {
    open(request) {
      const id = `${prefix}-${++seq}`;
      open.set(id, { ...request, id } as IpamRequest);
      kick();
      return id;
    },
    close(id) {
      if (open.delete(id)) kick();
    },
    failure(id) {
      if (!open.has(id)) return undefined;
      return parseIpamRequestFailures(o.nodeAnnotations()?.[IPAM_REQUEST_RESULT_ANNOTATION])[id];
    },
    async settled() {
      while (running) await running;
    },
  };
}
