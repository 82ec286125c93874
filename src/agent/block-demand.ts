// The agent's side of src/api/block-request.ts: the requests for blocks its IPAM is waiting on, written to the
// annotation on its own Node so that the operator claims them.
//
// Invariants:
// - The annotation always converges to the current set of open requests: writes are serialised, and a change during
//   a write causes one more write of the then-current set (a burst of pod starts costs a few writes, not one each).
// - A failed write is logged and retried on the next change or after `retryMs`; it never fails the pod's request
//   (the agent then waits its normal time and the CNI plugin answers "try again later").
import { BLOCK_REQUEST_ANNOTATION, type BlockRequest, formatBlockRequests } from '../api/block-request.js';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log/logger.js';

export interface BlockDemand {
  /** Starts asking for a block of `family` in `pools`; returns the request's id. */
  open(family: 4 | 6, pools: readonly string[]): string;
  close(id: string): void;
}

export interface NodeBlockDemand extends BlockDemand {
  /** Resolves when the annotation shows the current set (tests, shutdown). */
  settled(): Promise<void>;
}

export function createNodeBlockDemand(o: {
  client: KubeClient;
  nodeName: string;
  log: Logger;
  retryMs?: number;
}): NodeBlockDemand {
  const open = new Map<string, BlockRequest>();
  const prefix = Date.now().toString(36);
  let seq = 0;
  let written: string | null | undefined; // what the annotation holds, as far as this agent knows
  let running: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;

  async function writeLoop(): Promise<void> {
    for (;;) {
      const want = formatBlockRequests([...open.values()]);
      if (want === written) return;
      try {
        await o.client
          .nodes()
          .mergePatch(o.nodeName, { metadata: { annotations: { [BLOCK_REQUEST_ANNOTATION]: want } } });
        written = want;
        o.log.debug({ node: o.nodeName, requests: open.size }, 'block requests written');
      } catch (e) {
        o.log.warn({ node: o.nodeName, err: (e as Error).message }, 'cannot write block requests to the Node');
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
      if (formatBlockRequests([...open.values()]) !== written && retry === undefined) kick();
    });
  }

  return {
    open(family, pools) {
      const id = `${prefix}-${++seq}`;
      open.set(id, { id, family, pools: [...pools] });
      kick();
      return id;
    },
    close(id) {
      if (open.delete(id)) kick();
    },
    async settled() {
      while (running) await running;
    },
  };
}
