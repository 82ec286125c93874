// Compiles a selector AST into a matcher closure, so evaluation never re-walks text or switches on node kinds.
//
// Semantics (calico: libcalico-go/lib/selector/parser/ast.go, Evaluate): `==`, `in`, `contains`, `starts with`,
// `ends with` and `has` are false when the label is absent; `!=` and `not in` are true when it is absent; all() and
// global() are always true. A label counts as present only when it is an own string value, so keys such as
// "constructor" or "__proto__" never pick up Object.prototype members.
import type { SelectorNode } from './selector-parser.js';

export type Labels = Readonly<Record<string, string>>;
export type Matcher = (labels: Labels) => boolean;

const always: Matcher = () => true;

// Below this many values a linear scan beats hashing into a Set.
const SET_THRESHOLD = 6;

export function compileSelectorAst(node: SelectorNode): Matcher {
  switch (node.kind) {
    case 'all':
    case 'global':
      return always;
    case 'has': {
      const k = node.label;
      return (l) => typeof l[k] === 'string';
    }
    case '==': {
      const k = node.label;
      const v = node.value;
      return (l) => l[k] === v;
    }
    case '!=': {
      const k = node.label;
      const v = node.value;
      return (l) => l[k] !== v;
    }
    case 'contains': {
      const k = node.label;
      const v = node.value;
      return (l) => {
        const x = l[k];
        return typeof x === 'string' && x.includes(v);
      };
    }
    case 'starts with': {
      const k = node.label;
      const v = node.value;
      return (l) => {
        const x = l[k];
        return typeof x === 'string' && x.startsWith(v);
      };
    }
    case 'ends with': {
      const k = node.label;
      const v = node.value;
      return (l) => {
        const x = l[k];
        return typeof x === 'string' && x.endsWith(v);
      };
    }
    case 'in':
    case 'not in': {
      const k = node.label;
      const inSet = setTest(node.values);
      if (node.kind === 'in') return (l) => inSet(l[k]);
      return (l) => !inSet(l[k]);
    }
    case 'not': {
      const inner = compileSelectorAst(node.operand);
      return (l) => !inner(l);
    }
    case 'and':
    case 'or':
      return combine(node.kind, node.operands.map(compileSelectorAst));
  }
}

/** Membership test that is false for anything but a string in `values`. */
function setTest(values: readonly string[]): (x: unknown) => boolean {
  if (values.length === 0) return () => false;
  if (values.length === 1) {
    const only = values[0];
    return (x) => x === only;
  }
  if (values.length < SET_THRESHOLD) {
    const vs = [...values];
    return (x) => typeof x === 'string' && vs.includes(x);
  }
  const set = new Set(values);
  return (x) => typeof x === 'string' && set.has(x);
}

function combine(kind: 'and' | 'or', ms: Matcher[]): Matcher {
  const [a, b, c] = ms;
  if (ms.length === 2 && a && b) return kind === 'and' ? (l) => a(l) && b(l) : (l) => a(l) || b(l);
  if (ms.length === 3 && a && b && c) {
    return kind === 'and' ? (l) => a(l) && b(l) && c(l) : (l) => a(l) || b(l) || c(l);
  }
  if (kind === 'and') {
    return (l) => {
      for (const m of ms) if (!m(l)) return false;
      return true;
    };
  }
  return (l) => {
    for (const m of ms) if (m(l)) return true;
    return false;
  };
}
