// fast-check arbitraries and a reference evaluator for selector tests (testdata/ is excluded from the build).
import fc from 'fast-check';
import { type SelectorNode, normaliseSet } from '../selector-parser.js';

// Label keys include words that are operators or keywords elsewhere and Object.prototype member names.
export const LABEL_KEYS = [
  'a',
  'b',
  'app',
  'kubernetes.io/hostname',
  'calico/k8s_ns',
  'x-y_z.1',
  'in',
  'not',
  'contains',
  'starts',
  'with',
  'has',
  'all',
  'global',
  'startswith',
  'constructor',
  '__proto__',
  'toString',
] as const;

export const LABEL_VALUES = ['', 'a', 'b', 'ab', 'ba', 'aba', "it's", 'say "hi"', 'x y', 'é', '😀', 'kube-system'];

export const arbLabelKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LABEL_KEYS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_./-]{1,12}$/) },
);

/** Any string a selector literal can hold: anything that does not contain both quote characters. */
export const arbLabelValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LABEL_VALUES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme' }).filter((s) => !(s.includes('"') && s.includes("'"))) },
);

export const arbSelectorAst: fc.Arbitrary<SelectorNode> = fc.letrec<{ node: SelectorNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<SelectorNode>({ kind: 'all' }),
    fc.constant<SelectorNode>({ kind: 'global' }),
    arbLabelKey.map((label): SelectorNode => ({ kind: 'has', label })),
    fc
      .record({
        kind: fc.constantFrom('==', '!=', 'contains', 'starts with', 'ends with') as fc.Arbitrary<
          '==' | '!=' | 'contains' | 'starts with' | 'ends with'
        >,
        label: arbLabelKey,
        value: arbLabelValue,
      })
      .map((n): SelectorNode => n),
    fc
      .record({
        kind: fc.constantFrom('in', 'not in') as fc.Arbitrary<'in' | 'not in'>,
        label: arbLabelKey,
        values: fc.array(arbLabelValue, { maxLength: 8 }).map(normaliseSet),
      })
      .map((n): SelectorNode => n),
    tie('node').map((operand): SelectorNode => ({ kind: 'not', operand })),
    fc
      .record({
        kind: fc.constantFrom('and', 'or') as fc.Arbitrary<'and' | 'or'>,
        operands: fc.array(tie('node'), { minLength: 2, maxLength: 4 }),
      })
      .map((n): SelectorNode => n),
  ),
})).node;

/** Label sets drawn from the same keys and values, so selectors match some of them. */
export const arbLabels: fc.Arbitrary<Record<string, string>> = fc
  .array(fc.tuple(fc.constantFrom(...LABEL_KEYS), fc.constantFrom(...LABEL_VALUES)), { maxLength: 8 })
  .map((pairs) => Object.fromEntries(pairs));

/** Straightforward interpreter over the AST: the reference semantics the compiled matcher must agree with. */
export function referenceEvaluate(node: SelectorNode, labels: Readonly<Record<string, string>>): boolean {
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(labels, k);
  const get = (k: string): string | undefined => (has(k) ? labels[k] : undefined);
  switch (node.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return has(node.label);
    case '==':
      return has(node.label) && get(node.label) === node.value;
    case '!=':
      return !has(node.label) || get(node.label) !== node.value;
    case 'contains':
      return has(node.label) && (get(node.label) ?? '').indexOf(node.value) >= 0;
    case 'starts with':
      return has(node.label) && (get(node.label) ?? '').slice(0, node.value.length) === node.value;
    case 'ends with': {
      const v = get(node.label) ?? '';
      return has(node.label) && v.length >= node.value.length && v.slice(v.length - node.value.length) === node.value;
    }
    case 'in':
      return has(node.label) && node.values.some((x) => x === get(node.label));
    case 'not in':
      return !has(node.label) || !node.values.some((x) => x === get(node.label));
    case 'not':
      return !referenceEvaluate(node.operand, labels);
    case 'and':
      return node.operands.every((o) => referenceEvaluate(o, labels));
    case 'or':
      return node.operands.some((o) => referenceEvaluate(o, labels));
  }
}
