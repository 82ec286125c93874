// Prints a selector AST in Calico's canonical form (calico: libcalico-go/lib/selector/parser/ast.go,
// collectFragments): `k == "v"`, `has(k)`, `all()`, `k in {"a", "b"}`, And/Or always wrapped in parentheses,
// `!` written directly before its operand. A string is quoted with '"' unless it contains '"', then with "'".
//
// One deliberate difference: a Not directly inside a Not (only reachable as `!(!x)`) prints as `!(!x)`, where Calico
// prints `!!x`, which re-parses to plain `x`. With that, parseSelectorAst(printSelectorAst(n)) rebuilds `n` exactly, so
// printing is idempotent on printed text.
import type { SelectorNode } from './selector-parser.js';

export function quoteSelectorString(s: string): string {
  return s.includes('"') ? `'${s}'` : `"${s}"`;
}

export function printSelectorAst(node: SelectorNode): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.label})`;
    case '==':
    case '!=':
    case 'contains':
    case 'starts with':
    case 'ends with':
      return `${node.label} ${node.kind} ${quoteSelectorString(node.value)}`;
    case 'in':
    case 'not in':
      return `${node.label} ${node.kind} {${node.values.map(quoteSelectorString).join(', ')}}`;
    case 'not':
      return node.operand.kind === 'not'
        ? `!(${printSelectorAst(node.operand)})`
        : `!${printSelectorAst(node.operand)}`;
    case 'and':
    case 'or':
      return `(${node.operands.map(printSelectorAst).join(node.kind === 'and' ? ' && ' : ' || ')})`;
  }
}
