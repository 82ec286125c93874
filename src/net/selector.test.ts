import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SelectorParseError } from './errors.js';
import { parseSelector, selectorFromAst } from './selector.js';
import { type SelectorNode, compareUtf8, parseSelectorAst } from './selector-parser.js';
import { printSelectorAst } from './selector-printer.js';
import { isValidSelectorLabel } from './selector-tokenizer.js';
import { arbLabels, arbSelectorAst, referenceEvaluate } from './testdata/selector-arbitraries.js';

type L = Record<string, string>;

function parseError(text: string): SelectorParseError {
  try {
    parseSelector(text);
  } catch (e) {
    expect(e).toBeInstanceOf(SelectorParseError);
    return e as SelectorParseError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

// Behaviour rows from Calico's selector tests (calico: libcalico-go/lib/selector/parser/parser_test.go) and docs.
describe('evaluation (Calico semantics)', () => {
  it.each<{ name: string; sel: string; yes: L[]; no: L[] }>([
    { name: 'equality', sel: `a == "b"`, yes: [{ a: 'b' }, { a: 'b', c: 'd' }], no: [{}, { a: 'c' }, { c: 'd' }] },
    {
      name: 'and',
      sel: `a == "b" && c == "d"`,
      yes: [{ a: 'b', c: 'd' }],
      no: [{}, { a: 'b', c: 'e' }, { a: 'c', c: 'd' }, { c: 'd' }, { a: 'b' }],
    },
    {
      name: 'or',
      sel: `a == "b" || c == "d"`,
      yes: [{ a: 'b', c: 'd' }, { a: 'b' }, { c: 'd' }],
      no: [{}, { a: 'e', c: 'e' }, { c: 'e' }, { a: 'e' }],
    },
    {
      name: 'in with quotes',
      sel: `a in {"'", '"', "c"}`,
      yes: [{ a: 'c' }, { a: '"' }, { a: "'" }],
      no: [{}, { a: 'e' }],
    },
    {
      name: 'not in with quotes',
      sel: `a not in {"'", '"', "c"}`,
      yes: [{}, { a: 'e' }],
      no: [{ a: 'c' }, { a: '"' }, { a: "'" }],
    },
    { name: 'single quotes', sel: `a == 'a'`, yes: [{ a: 'a' }], no: [{ a: 'b' }, {}] },
    { name: '!= present and different', sel: `a != "b"`, yes: [{ a: 'a' }], no: [{ a: 'b' }] },
    { name: '!= matches when absent', sel: `a != "a"`, yes: [{}, { b: 'a' }], no: [{ a: 'a' }] },
    {
      name: 'contains',
      sel: `a contains "a"`,
      yes: [{ a: 'a' }, { a: 'bab' }, { a: 'aaa', b: 'c' }],
      no: [{}, { a: 'b' }, { b: 'aaa' }],
    },
    {
      name: 'starts with',
      sel: `a starts with "a"`,
      yes: [{ a: 'a' }, { a: 'abb' }, { a: 'aaa', b: 'c' }],
      no: [{}, { a: 'b' }, { a: 'baa' }, { b: 'aaa' }],
    },
    {
      name: 'ends with',
      sel: `a ends with "a"`,
      yes: [{ a: 'a' }, { a: 'bba' }, { a: 'aaa', b: 'c' }],
      no: [{}, { a: 'b' }, { a: 'aab' }, { b: 'aaa' }],
    },
    { name: 'contains empty string needs the label', sel: `a contains ""`, yes: [{ a: '' }, { a: 'x' }], no: [{}] },
    { name: 'equality to empty string', sel: `a == ""`, yes: [{ a: '' }], no: [{}, { a: 'x' }] },
    { name: 'negated in', sel: `!a in {"a"}`, yes: [{ a: 'b' }, {}], no: [{ a: 'a' }] },
    { name: 'in two', sel: `a in {"a", "b"}`, yes: [{ a: 'a' }, { a: 'b' }], no: [{ a: 'c' }, {}] },
    { name: 'not in two', sel: `a not in {"d", "e"}`, yes: [{ a: 'a' }, {}], no: [{ a: 'd' }] },
    { name: 'empty set', sel: `a in {}`, yes: [], no: [{}, { a: '' }] },
    { name: 'not in empty set', sel: `a not in {}`, yes: [{}, { a: '' }], no: [] },
    { name: 'has', sel: `has(a)`, yes: [{ a: 'b' }, { a: '' }], no: [{ b: 'b' }] },
    { name: '!has', sel: `!has(a)`, yes: [{ b: 'b' }, {}], no: [{ a: 'b' }] },
    { name: 'empty selector', sel: ``, yes: [{}, { a: 'b' }], no: [] },
    { name: 'blank selector', sel: ` \t`, yes: [{}], no: [] },
    { name: 'all()', sel: ` all()`, yes: [{}, { a: 'b' }], no: [] },
    { name: 'global()', sel: `global()`, yes: [{}, { a: 'b' }], no: [] },
    { name: '!all() matches nothing', sel: `!all()`, yes: [], no: [{}, { a: 'b' }] },
    { name: '!!has', sel: `!!has(b)`, yes: [{ b: '' }], no: [{ a: 'b' }] },
    { name: '! has with space', sel: `! has(a)`, yes: [{}], no: [{ a: 'b' }] },
    { name: '!!! has', sel: `!!! has(a)`, yes: [{}], no: [{ a: 'b' }] },
    { name: '!! ! has', sel: `!! ! has(a)`, yes: [{}], no: [{ a: 'b' }] },
    { name: 'and of != fails', sel: `a == 'a1' && b != 'b1'`, yes: [], no: [{ a: 'a1', b: 'b1' }] },
    { name: 'negated comparison in and', sel: `a != 'a1' && !b == 'b1'`, yes: [{}], no: [{ a: 'a1', b: 'b1' }] },
    { name: 'has and !has', sel: `has(a) && !has(b)`, yes: [{ a: 'a' }], no: [{ a: 'a', b: 'b' }, {}] },
    { name: 'negated or', sel: `!(!has(a) || has(b))`, yes: [{ a: 'a' }], no: [{ b: 'b' }, {}] },
    { name: 'or with !=', sel: `a == 'a1' || b != 'b1'`, yes: [{ a: 'a1', b: 'b1' }, {}], no: [{ a: 'x', b: 'b1' }] },
    { name: 'or of negations', sel: `! a == 'a1' || ! b == 'b1'`, yes: [{}], no: [{ a: 'a1', b: 'b1' }] },
    {
      name: '&& binds tighter than ||',
      sel: `a == "1" || b == "1" && c == "1"`,
      yes: [{ a: '1' }, { b: '1', c: '1' }],
      no: [{ b: '1' }],
    },
    {
      name: 'parentheses override',
      sel: `(a == "1" || b == "1") && c == "1"`,
      yes: [{ b: '1', c: '1' }],
      no: [{ a: '1' }],
    },
    {
      name: 'prefixed keys (docs)',
      sel: `calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
      yes: [{ 'calico/k8s_ns': 'kube-system', 'k8s-app': 'kube-dns' }],
      no: [{ 'k8s-app': 'kube-dns' }],
    },
    {
      name: 'node hostname label',
      sel: `kubernetes.io/hostname in {"node-1", "node-2"}`,
      yes: [{ 'kubernetes.io/hostname': 'node-2' }],
      no: [{ 'kubernetes.io/hostname': 'node-3' }, { hostname: 'node-1' }],
    },
    {
      name: 'docs example (role)',
      sel: `role == 'webserver' && environment in {"production", "staging"}`,
      yes: [{ role: 'webserver', environment: 'staging' }],
      no: [{ role: 'webserver', environment: 'dev' }],
    },
    {
      name: 'IPPool nodeSelector in tutorials',
      sel: `all()`,
      yes: [{ 'kubernetes.io/hostname': 'k8s-master-1' }],
      no: [],
    },
    {
      name: 'prototype key has()',
      sel: `has(constructor) || has(__proto__) || has(toString)`,
      yes: [{ toString: 'x' }],
      no: [{}],
    },
    {
      name: 'prototype key !=',
      sel: `constructor != "x"`,
      yes: [{}, { constructor: 'y' }],
      no: [{ constructor: 'x' }],
    },
    {
      name: 'prototype key in',
      sel: `__proto__ in {"a"}`,
      yes: [Object.fromEntries([['__proto__', 'a']]) as L],
      no: [{}],
    },
    { name: 'prototype key contains', sel: `toString contains "f"`, yes: [{ toString: 'f' }], no: [{}] },
  ])('$name: $sel', ({ sel, yes, no }) => {
    const s = parseSelector(sel);
    const canon = parseSelector(s.toString());
    for (const labels of yes) {
      expect(s.matches(labels), JSON.stringify(labels)).toBe(true);
      expect(canon.matches(labels)).toBe(true);
    }
    for (const labels of no) {
      expect(s.matches(labels), JSON.stringify(labels)).toBe(false);
      expect(canon.matches(labels)).toBe(false);
    }
  });

  it('keeps the source text and detects global()', () => {
    const s = parseSelector(` has( a ) `);
    expect(s.source).toBe(' has( a ) ');
    expect(String(s)).toBe('has(a)');
    expect(s.usesGlobal).toBe(false);
    expect(parseSelector('has(a) && !(b == "c" || global())').usesGlobal).toBe(true);
  });
});

describe('canonical printing', () => {
  it.each([
    { name: 'empty', input: '', canonical: 'all()' },
    { name: 'padded all()', input: ' all() ', canonical: 'all()' },
    { name: 'parenthesised all()', input: ' (all() )', canonical: 'all()' },
    { name: 'Calico example 1', input: '! (has( b)||! has(a ))', canonical: '!(has(b) || !has(a))' },
    { name: 'Calico example 2', input: '! (a == "b"&&! c != "d")', canonical: '!(a == "b" && !c != "d")' },
    { name: 'single quote inside', input: `a == "'"`, canonical: `a == "'"` },
    { name: 'double quote inside', input: `a == '"'`, canonical: `a == '"'` },
    { name: 'contains double quote', input: `a contains '"'`, canonical: `a contains '"'` },
    { name: 'startswith', input: `a startswith '"'`, canonical: `a starts with '"'` },
    { name: 'endswith', input: `a endswith "'"`, canonical: `a ends with "'"` },
    { name: 'starts   with', input: `a starts \t with "x"`, canonical: `a starts with "x"` },
    { name: 'no spaces', input: `a!='"'`, canonical: `a != '"'` },
    { name: 'notin', input: `a notin {"x"}`, canonical: `a not in {"x"}` },
    { name: 'not <tab> in', input: `a not\tin {"x"}`, canonical: `a not in {"x"}` },
    { name: 'set one', input: `a in {"d"}`, canonical: `a in {"d"}` },
    { name: 'set sorted', input: `a in {"d", "a", "b"}`, canonical: `a in {"a", "b", "d"}` },
    { name: 'set de-duplicated', input: `a in {"z", "z", "x", "y", "x", "a"}`, canonical: `a in {"a", "x", "y", "z"}` },
    { name: 'set trailing comma', input: `a in {"a",}`, canonical: `a in {"a"}` },
    { name: 'set empty', input: `a not in {}`, canonical: `a not in {}` },
    { name: 'set mixed quotes', input: `a in {'b', "c"}`, canonical: `a in {"b", "c"}` },
    {
      name: 'set sorted by UTF-8 bytes',
      input: `a in {"😀", "ｚ", "é", "z"}`,
      canonical: `a in {"z", "é", "ｚ", "😀"}`,
    },
    { name: 'no space before set', input: `a in{"b"}`, canonical: `a in {"b"}` },
    { name: 'no space before string', input: `a contains"b"`, canonical: `a contains "b"` },
    { name: 'has with spaces', input: `has( a )`, canonical: `has(a)` },
    { name: 'all with spaces', input: `all( )`, canonical: `all()` },
    { name: 'global with tab', input: `global(\t)`, canonical: `global()` },
    {
      name: 'operator words as labels',
      input: `contains contains 'contains'`,
      canonical: `contains contains "contains"`,
    },
    { name: 'label named in', input: `in == "x"`, canonical: `in == "x"` },
    { name: 'label named not', input: `not in {"a"}`, canonical: `not in {"a"}` },
    { name: 'label named startswith', input: `startswith starts with "v"`, canonical: `startswith starts with "v"` },
    { name: 'and without spaces', input: `a=="b"&&c!="d"`, canonical: `(a == "b" && c != "d")` },
    { name: 'or of and', input: `a == "1" || b == "1" && c == "1"`, canonical: `(a == "1" || (b == "1" && c == "1"))` },
    {
      name: 'nested and keeps shape',
      input: `(a == "1" && b == "1") && c == "1"`,
      canonical: `((a == "1" && b == "1") && c == "1")`,
    },
    { name: 'triple negation', input: `!!!has(a)`, canonical: `!has(a)` },
    { name: 'redundant parens', input: `(((a == "b")))`, canonical: `a == "b"` },
    { name: 'negated parens', input: `!(k == 'v')`, canonical: `!k == "v"` },
    { name: 'not of not keeps parens (idempotent)', input: `!(!a == "b")`, canonical: `!(!a == "b")` },
    {
      name: 'Calico visitor example',
      input: `!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))`,
      canonical: `!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})`,
    },
    {
      name: 'prefixed key',
      input: `kubernetes.io/hostname=="k8s-master-1"`,
      canonical: `kubernetes.io/hostname == "k8s-master-1"`,
    },
    { name: 'string with newline', input: `a == "x\ny"`, canonical: `a == "x\ny"` },
    { name: '512-char label', input: `${'a'.repeat(512)} == "v"`, canonical: `${'a'.repeat(512)} == "v"` },
  ])('$name', ({ input, canonical }) => {
    const s = parseSelector(input);
    expect(s.toString()).toBe(canonical);
    // Printing is idempotent: the canonical form re-parses to the same tree and prints the same.
    const again = parseSelector(canonical);
    expect(again.toString()).toBe(canonical);
    expect(again.root).toEqual(s.root);
  });
});

const OP_START = 'a label, "has(", "all()", "global()", "!" or "("';
const OPERATORS = '"==", "!=", "in", "not in", "contains", "starts with" or "ends with"';
const AFTER_OPERAND = '"&&", "||" or end of input';

describe('invalid selectors', () => {
  it.each([
    {
      name: 'label == label',
      input: 'b == b',
      position: 5,
      expected: 'a quoted string after "=="',
      found: 'label "b"',
    },
    {
      name: 'label contains label',
      input: 'b contains b',
      position: 11,
      expected: 'a quoted string after "contains"',
      found: 'label "b"',
    },
    {
      name: 'label starts with label',
      input: 'b starts with b',
      position: 14,
      expected: 'a quoted string after "starts with"',
      found: 'label "b"',
    },
    {
      name: 'label ends with label',
      input: 'b ends with b',
      position: 12,
      expected: 'a quoted string after "ends with"',
      found: 'label "b"',
    },
    { name: 'literal on the left', input: "'b1' == b", position: 0, expected: OP_START, found: "string 'b1'" },
    { name: 'bare label', input: 'b', position: 1, expected: `${OPERATORS} after label "b"`, found: 'end of input' },
    {
      name: 'bare label and space',
      input: 'a ',
      position: 2,
      expected: `${OPERATORS} after label "a"`,
      found: 'end of input',
    },
    { name: 'two labels', input: 'a b', position: 2, expected: `${OPERATORS} after label "a"`, found: '"b"' },
    { name: 'lone !', input: '!', position: 1, expected: OP_START, found: 'end of input' },
    { name: 'lone !!', input: '!!', position: 2, expected: OP_START, found: 'end of input' },
    { name: 'single &', input: 'foo == "bar" &', position: 13, expected: '"&&"', found: '"&"' },
    { name: 'single |', input: 'foo == "bar" |', position: 13, expected: '"||"', found: '"|"' },
    { name: 'triple &', input: 'a == "b" &&& c == "d"', position: 11, expected: '"&&"', found: '"&"' },
    {
      name: '!= without value',
      input: 'foo != ||',
      position: 7,
      expected: 'a quoted string after "!="',
      found: '"||"',
    },
    {
      name: 'unfinished set',
      input: 'foo in {"", ||',
      position: 12,
      expected: 'a quoted string or "}"',
      found: '"||"',
    },
    {
      name: 'in without set',
      input: 'foo in ""',
      position: 7,
      expected: 'a set literal "{...}" after "in"',
      found: 'string ""',
    },
    {
      name: 'not in at end',
      input: 'a notin',
      position: 7,
      expected: 'a set literal "{...}" after "not in"',
      found: 'end of input',
    },
    { name: 'set without comma', input: 'a in {"x" "y"}', position: 10, expected: '"," or "}"', found: 'string "y"' },
    { name: 'set of labels', input: 'a in {b}', position: 6, expected: 'a quoted string or "}"', found: 'label "b"' },
    { name: 'set lone comma', input: 'a in {,}', position: 6, expected: 'a quoted string or "}"', found: '","' },
    { name: 'set double comma', input: 'a in {"x",,}', position: 10, expected: 'a quoted string or "}"', found: '","' },
    {
      name: 'unterminated "',
      input: '"FOO',
      position: 0,
      expected: `a closing '"' for the string`,
      found: 'end of input',
    },
    {
      name: 'mismatched quotes',
      input: `"FOO'`,
      position: 0,
      expected: `a closing '"' for the string`,
      found: 'end of input',
    },
    {
      name: "unterminated '",
      input: "'FOO",
      position: 0,
      expected: `a closing "'" for the string`,
      found: 'end of input',
    },
    {
      name: 'unterminated value',
      input: 'label == "value',
      position: 9,
      expected: `a closing '"' for the string`,
      found: 'end of input',
    },
    { name: 'lone (', input: '(', position: 1, expected: OP_START, found: 'end of input' },
    { name: 'unclosed (', input: '(a == "foo"', position: 11, expected: '"&&", "||" or ")"', found: 'end of input' },
    { name: 'lone )', input: ')', position: 0, expected: OP_START, found: '")"' },
    { name: 'empty parens', input: '()', position: 1, expected: OP_START, found: '")"' },
    {
      name: 'empty operand in parens',
      input: 'a == "b" && (c == "d" || )',
      position: 25,
      expected: OP_START,
      found: '")"',
    },
    { name: 'percent', input: '%', position: 0, expected: OP_START, found: '"%"' },
    { name: 'percent after &&', input: 'a == "b" && %', position: 12, expected: OP_START, found: '"%"' },
    { name: 'percent after ||', input: 'a == "b" || %', position: 12, expected: OP_START, found: '"%"' },
    { name: 'percent after operand', input: 'a == "b" %', position: 9, expected: AFTER_OPERAND, found: '"%"' },
    { name: 'newline is not whitespace', input: 'a == "b"\n', position: 8, expected: AFTER_OPERAND, found: '"\\n"' },
    { name: 'leading newline', input: '\nall()', position: 0, expected: OP_START, found: '"\\n"' },
    { name: 'emoji', input: '😀', position: 0, expected: OP_START, found: '"😀"' },
    { name: 'dangling &&', input: 'has(foo) &&', position: 11, expected: OP_START, found: 'end of input' },
    { name: 'trailing label', input: 'a in {"x"} b', position: 11, expected: AFTER_OPERAND, found: 'label "b"' },
    { name: 'juxtaposed all()', input: 'all() all()', position: 6, expected: AFTER_OPERAND, found: '"all()"' },
    { name: 'has( unclosed', input: 'has(foo', position: 7, expected: '")" to close "has("', found: 'end of input' },
    {
      name: 'has( spaces unclosed',
      input: 'has( foo ',
      position: 9,
      expected: '")" to close "has("',
      found: 'end of input',
    },
    { name: 'has() empty', input: 'has()', position: 4, expected: 'a label name inside "has("', found: '")"' },
    { name: 'has( two labels', input: 'has(a b)', position: 6, expected: '")" to close "has("', found: '"b"' },
    {
      name: 'has with space before (',
      input: 'has (a)',
      position: 4,
      expected: `${OPERATORS} after label "has"`,
      found: '"("',
    },
    { name: 'all( unclosed', input: 'all(', position: 4, expected: '")" to close "all("', found: 'end of input' },
    { name: 'global(x)', input: 'global(x)', position: 7, expected: '")" to close "global("', found: '"x"' },
    {
      name: 'all with space before (',
      input: 'all ()',
      position: 4,
      expected: `${OPERATORS} after label "all"`,
      found: '"("',
    },
    { name: 'single =', input: 'label = "value"', position: 6, expected: '"=="', found: '"="' },
    { name: '=!', input: 'a =! "b"', position: 2, expected: '"=="', found: '"="' },
    { name: '! = split', input: 'a ! = "b"', position: 2, expected: `${OPERATORS} after label "a"`, found: '"!"' },
    {
      name: 'starts foo',
      input: 'label starts foo "value"',
      position: 6,
      expected: `${OPERATORS} after label "label"`,
      found: '"starts"',
    },
    {
      name: 'inf',
      input: 'label inf "value"',
      position: 6,
      expected: `${OPERATORS} after label "label"`,
      found: '"inf"',
    },
    {
      name: 'ends withs',
      input: 'label ends withs "value"',
      position: 6,
      expected: `${OPERATORS} after label "label"`,
      found: '"ends"',
    },
    {
      name: 'squiggles',
      input: 'label squiggles "value"',
      position: 6,
      expected: `${OPERATORS} after label "label"`,
      found: '"squiggles"',
    },
    {
      name: 'containsx',
      input: 'a containsx "v"',
      position: 2,
      expected: `${OPERATORS} after label "a"`,
      found: '"containsx"',
    },
    {
      name: '513-char label',
      input: `${'a'.repeat(513)} == "value"`,
      position: 0,
      expected: 'a label of at most 512 characters',
      found: 'a label of 513 characters',
    },
    {
      name: '513-char label in has()',
      input: `has(${'a'.repeat(513)})`,
      position: 4,
      expected: 'a label of at most 512 characters',
      found: 'a label of 513 characters',
    },
  ])('$name: $input', ({ input, position, expected, found }) => {
    const e = parseError(input);
    expect({ position: e.position, expected: e.expected, found: e.found }).toEqual({ position, expected, found });
    expect(e.input).toBe(input);
    expect(e.message).toBe(
      `invalid selector ${JSON.stringify(input)}: expected ${expected} at position ${position}, found ${found}`,
    );
  });
});

/** Prints `node` with random legal spacing, quoting, spelling and redundant parentheses. */
function respell(node: SelectorNode, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[rnd() % xs.length] as T;
  const ws = (): string => pick(['', '', ' ', '\t', '  ']);
  const ws1 = (): string => pick([' ', '\t', ' \t ']);
  const quote = (v: string): string => {
    if (v.includes('"')) return `'${v}'`;
    if (v.includes("'")) return `"${v}"`;
    return pick([`"${v}"`, `'${v}'`]);
  };
  const opSpelling: Record<string, readonly string[]> = {
    '==': ['=='],
    '!=': ['!='],
    contains: ['contains'],
    'starts with': ['starts with', 'startswith', 'starts\t\twith'],
    'ends with': ['ends with', 'endswith', 'ends  with'],
    in: ['in'],
    'not in': ['not in', 'notin', 'not \tin'],
  };
  const operand = (n: SelectorNode): string => {
    switch (n.kind) {
      case 'all':
      case 'global':
        return `${n.kind}(${ws()})`;
      case 'has':
        return `has(${ws()}${n.label}${ws()})`;
      case '==':
      case '!=':
      case 'contains':
      case 'starts with':
      case 'ends with': {
        // A word operator must be separated from the label; symbols need not be.
        const sep = n.kind === '==' || n.kind === '!=' ? ws() : ws1();
        return `${n.label}${sep}${pick(opSpelling[n.kind] ?? [])}${ws()}${quote(n.value)}`;
      }
      case 'in':
      case 'not in': {
        const items = [...n.values].reverse().map(quote);
        if (items.length > 0 && rnd() % 2 === 0) items.push(items[0] as string); // duplicates collapse
        const trailing = items.length > 0 && rnd() % 3 === 0 ? ',' : '';
        return `${n.label}${ws1()}${pick(opSpelling[n.kind] ?? [])}${ws()}{${ws()}${items.join(`${ws()},${ws()}`)}${trailing}${ws()}}`;
      }
      case 'not':
        // `!!x` would collapse, so a Not directly under a Not needs parentheses.
        return n.operand.kind === 'not'
          ? `!${ws()}(${ws()}${any(n.operand)}${ws()})`
          : `!${ws()}${pick(['', '!!', '! !'])}${operand(n.operand)}`;
      case 'and':
      case 'or':
        return `(${ws()}${n.operands.map(any).join(`${ws()}${n.kind === 'and' ? '&&' : '||'}${ws()}`)}${ws()})`;
    }
  };
  // Not-not nodes must not get an extra "!!" prefix, other operands may get redundant parens or a double negation.
  const any = (n: SelectorNode): string => {
    const r = rnd() % 6;
    if (r === 0) return `(${ws()}${operand(n)}${ws()})`;
    if (r === 1 && n.kind !== 'not') return `!!${ws()}${operand(n)}`;
    return operand(n);
  };
  return `${ws()}${any(node)}${ws()}`;
}

describe('selector properties', () => {
  it('print then parse rebuilds the tree, and printing is idempotent', () => {
    fc.assert(
      fc.property(arbSelectorAst, (ast) => {
        const printed = printSelectorAst(ast);
        const parsed = parseSelectorAst(printed);
        expect(parsed).toEqual(ast);
        expect(parseSelector(printed).toString()).toBe(printed);
        expect(selectorFromAst(ast).toString()).toBe(printed);
      }),
      { numRuns: 2000 },
    );
  });

  it('any legal spelling parses to the same tree', () => {
    fc.assert(
      fc.property(arbSelectorAst, fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), (ast, rs) => {
        let i = 0;
        const rnd = (): number => rs[i++ % rs.length] as number;
        const text = respell(ast, rnd);
        expect(parseSelectorAst(text)).toEqual(ast);
      }),
      { numRuns: 2000 },
    );
  });

  it('compiled matching agrees with a reference interpreter', () => {
    fc.assert(
      fc.property(arbSelectorAst, fc.array(arbLabels, { minLength: 1, maxLength: 8 }), (ast, labelSets) => {
        const sel = parseSelector(printSelectorAst(ast));
        for (const labels of labelSets) expect(sel.matches(labels)).toBe(referenceEvaluate(ast, labels));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but SelectorParseError, and positions stay inside the input', () => {
    const piece = fc.constantFrom(
      'a',
      'b',
      ' ',
      '==',
      '!=',
      '!',
      '&&',
      '||',
      '&',
      '|',
      '(',
      ')',
      '{',
      '}',
      ',',
      '"x"',
      "'y'",
      '"',
      'in',
      'not',
      'notin',
      'has(',
      'all()',
      'global()',
      'contains',
      'starts',
      'with',
      '%',
      '\n',
      '=',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        try {
          const s = parseSelector(text);
          expect(parseSelector(s.toString()).toString()).toBe(s.toString());
        } catch (e) {
          expect(e).toBeInstanceOf(SelectorParseError);
          const pe = e as SelectorParseError;
          expect(pe.position).toBeGreaterThanOrEqual(0);
          expect(pe.position).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('helpers', () => {
  it.each([
    { label: 'kubernetes.io/hostname', ok: true },
    { label: 'a'.repeat(512), ok: true },
    { label: 'a'.repeat(513), ok: false },
    { label: '', ok: false },
    { label: 'a b', ok: false },
    { label: 'a=b', ok: false },
  ])('isValidSelectorLabel($label) is $ok', ({ label, ok }) => {
    expect(isValidSelectorLabel(label)).toBe(ok);
  });

  it('compareUtf8 orders like UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        expect(Math.sign(compareUtf8(a, b))).toBe(bytes);
      }),
    );
  });
});
