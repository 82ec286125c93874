// Calico selectors: parse once, match many times.
//
// Input: selector text as users write it in IPPool.spec.nodeSelector, BGPPeer.spec.nodeSelector/peerSelector, etc.
// Output: a Selector whose `matches` is a compiled closure, `toString()` is Calico's canonical form and `source` is
// the text as given. Invariants: parseSelector(s.toString()).toString() === s.toString(); `matches` agrees with the
// AST's reference semantics (selector-compiler.ts header). Errors are SelectorParseError with the 0-based position
// of the first problem and what was expected there.
import { compileSelectorAst, type Labels, type Matcher } from './selector-compiler.js';
import { parseSelectorAst, type SelectorNode } from './selector-parser.js';
import { printSelectorAst } from './selector-printer.js';

export interface Selector {
  /** True when the label set satisfies the selector. */
  matches(labels: Readonly<Record<string, string>>): boolean;
  /** Calico's canonical form (e.g. `(a == "b" && has(c))`; empty input prints `all()`). */
  toString(): string;
  /** The text this selector was parsed from. */
  readonly source: string;
  readonly root: SelectorNode;
  /** True when `global()` appears anywhere (IPPool and BGPPeer selectors must reject it). */
  readonly usesGlobal: boolean;
}

class CompiledSelector implements Selector {
  readonly matches: Matcher;
  readonly usesGlobal: boolean;
  private canonical: string | undefined;

  constructor(
    readonly source: string,
    readonly root: SelectorNode,
  ) {
    this.matches = compileSelectorAst(root);
    this.usesGlobal = containsGlobal(root);
  }

  toString(): string {
    this.canonical ??= printSelectorAst(this.root);
    return this.canonical;
  }
}

function containsGlobal(n: SelectorNode): boolean {
  switch (n.kind) {
    case 'global':
      return true;
    case 'not':
      return containsGlobal(n.operand);
    case 'and':
    case 'or':
      return n.operands.some(containsGlobal);
    default:
      return false;
  }
}

export function parseSelector(text: string): Selector {
  return new CompiledSelector(text, parseSelectorAst(text));
}

/** Builds a Selector from an AST (e.g. one assembled in code); the source is its printed form. */
export function selectorFromAst(root: SelectorNode): Selector {
  return new CompiledSelector(printSelectorAst(root), root);
}

export type { Labels, SelectorNode };
