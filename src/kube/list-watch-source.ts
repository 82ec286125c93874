// The two calls an informer needs, as an interface, so the watcher's state machine is unit-tested against a scripted
// source and runs against the apiserver through `ResourceClient.listWatch`. Objects stay `unknown` here: they are
// validated by the informer, which owns the schema.

export interface RawList {
  items: unknown[];
  resourceVersion: string;
  /** Present when more pages follow. */
  continueToken?: string;
}

export type RawWatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface RawWatchEvent {
  type: RawWatchEventType;
  object: unknown;
}

export interface ListWatchSource {
  /** For logs: `configmaps in default`, `ippools.projectcalico.org`. */
  readonly description: string;
  list(opts: { limit: number; continueToken?: string; signal: AbortSignal }): Promise<RawList>;
  /**
   * Streams events after `resourceVersion` to `onEvent`. Resolves when the server ends the stream (its timeout),
   * rejects with a KubeError on failure (GoneError when the version is too old to resume from).
   */
  watch(
    opts: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal },
    onEvent: (event: RawWatchEvent) => void,
  ): Promise<void>;
}
