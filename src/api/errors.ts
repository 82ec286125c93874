// Validation problems as plain data. Inputs: zod issues (or hand-made checks) plus the object they belong to.
// Outputs: `Issue[]` and one renderer, `formatIssue`, whose line is what the CLI prints, what the operator puts in a
// condition message and what an Event says — one list, several readers (STYLE.md §5, §7).
// Invariant: every issue names the object (kind + name) and the field path; a path is never guessed.
import type { z } from 'zod';

export interface ObjectRef {
  kind: string;
  name: string;
}

export interface Issue {
  /** Stable machine code: zod's issue code (`invalid_type`, `custom`, ...) or one of ours (`overlap`, `unknown_kind`). */
  code: string;
  object: ObjectRef;
  /** Field path from the object root, e.g. `['spec', 'peers', 0, 'peerIP']`; empty for the object as a whole. */
  path: (string | number)[];
  message: string;
}

/** Renders `spec.peers[0].peerIP` from `['spec', 'peers', 0, 'peerIP']`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** `IPPool pool-a: spec.blockSize: must be 20..32 (got 33)` */
export function formatIssue(issue: Issue): string {
  const name = issue.object.name === '' ? '(unnamed)' : issue.object.name;
  const where = formatPath(issue.path);
  return where === ''
    ? `${issue.object.kind} ${name}: ${issue.message}`
    : `${issue.object.kind} ${name}: ${where}: ${issue.message}`;
}

export class TabbyError extends Error {
  readonly issues: Issue[];

  constructor(issues: Issue[]) {
    super(issues.length === 0 ? 'invalid input' : issues.map(formatIssue).join('\n'));
    this.name = 'TabbyError';
    this.issues = issues;
  }
}

export function issue(
  object: ObjectRef,
  path: (string | number)[],
  message: string,
  code: string = 'invalid_value',
): Issue {
  return { code, object, path, message };
}

function describeInput(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  if (typeof input === 'string') return JSON.stringify(input.length > 80 ? `${input.slice(0, 77)}...` : input);
  if (typeof input === 'number' || typeof input === 'boolean' || typeof input === 'bigint') return String(input);
  if (input === null) return 'null';
  // Objects and arrays are not echoed: the path already says where, and the value can be large.
  return undefined;
}

/**
 * Converts zod issues to ours. `prefix` is prepended to every path (e.g. when a spec schema was parsed on its own).
 * zod's wording is kept for the generic checks; our schemas give their own messages (`must be ...`) for the rest.
 * The offending value is appended as `(got X)` when the parse was run with `reportInput` and the message lacks it.
 */
export function issuesFromZod(error: z.ZodError, object: ObjectRef, prefix: (string | number)[] = []): Issue[] {
  const out: Issue[] = [];
  for (const zi of error.issues) {
    const path = [...prefix, ...zi.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (zi.code === 'invalid_union' && zi.errors.length > 0) {
      // A union failing in every branch: report the branch that got furthest (longest paths) rather than nothing.
      const best = [...zi.errors].sort((a, b) => depth(b) - depth(a))[0] ?? [];
      for (const inner of best) {
        out.push(...issuesFromZod({ issues: [inner] } as unknown as z.ZodError, object, path));
      }
      continue;
    }
    let message = zi.message;
    if (zi.code === 'unrecognized_keys') {
      for (const key of zi.keys) out.push({ code: zi.code, object, path: [...path, key], message: 'unknown field' });
      continue;
    }
    const got = describeInput((zi as { input?: unknown }).input);
    if (got !== undefined && !message.includes('(got ')) message = `${message} (got ${got})`;
    out.push({ code: zi.code, object, path, message });
  }
  return out;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}
