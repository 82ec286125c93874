// A manual clock for unit tests of code that takes a `Clock` (here and in the layers above). Inputs: `advance(ms)`.
// Outputs: timers fire in due-time order (ties in creation order), each followed by a flush of pending promise
// continuations, so async code that re-arms timers behaves as it would in real time, without waiting.
// Invariant: `now()` never goes backwards and only `advance` moves it.
import type { Clock, Timer } from '../clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets every queued promise continuation (and I/O callback) run. */
export async function flushPromises(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Pending[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Due time of the next live timer, if any. */
  nextTimerAt(): number | undefined {
    const live = this.timers.filter((t) => !t.cancelled);
    return live.length === 0 ? undefined : Math.min(...live.map((t) => t.at));
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (including ones armed meanwhile). */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: Pending | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = Math.max(this.current, next.at);
      next.fn();
      await flushPromises();
    }
    this.current = target;
    await flushPromises();
  }
}
