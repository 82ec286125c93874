// Go's verdicts, as data: the valid patterns of Go's own parser tests (`go: src/regexp/syntax/parse_test.go`
// parseTests, onlyPerl) and its invalid ones (invalidRegexps, onlyPOSIX — invalid with the Perl flags
// `regexp.Compile` uses), Calico's FelixConfiguration cases (`calico: libcalico-go/lib/validator/v3/validator_test.go`
// MTUIfacePattern / BPFDataIfacePattern), and the places where JavaScript's RegExp disagrees with Go.
import { describe, expect, it } from 'vitest';
import { goRegexpError } from './go-regexp.js';

const GO_VALID = [
  'a',
  'a.',
  'a.b',
  'ab',
  'a|^',
  'a|b',
  '(a)',
  '(a)|b',
  'a*',
  'a+',
  'a?',
  'a{2}',
  'a{2,3}',
  'a{2,}',
  'a*?',
  'a+?',
  'a??',
  'a{2}?',
  'a{2,3}?',
  'a{2,}?',
  'x{1001',
  'x{9876543210',
  'x{9876543210,',
  'x{2,1',
  'x{1,9876543210',
  '',
  '|',
  '|x|',
  '.',
  '^',
  '$',
  '\\|',
  '\\(',
  '\\)',
  '\\*',
  '\\+',
  '\\?',
  '{',
  '}',
  '\\.',
  '\\^',
  '\\$',
  '\\\\',
  '[ace]',
  '[abc]',
  '[a-z]',
  '[a]',
  '\\-',
  '-',
  '\\_',
  'abc|def|ghi',
  '[[:lower:]]',
  '[^[:lower:]]',
  '[[:^lower:]]',
  '(?i)[[:lower:]]',
  '(?i)[a-z]',
  '(?i)[^[:lower:]]',
  '\\d',
  '\\D',
  '\\s',
  '\\S',
  '\\w',
  '\\W',
  '(?i)\\w',
  '[^\\\\]',
  '\\p{Braille}',
  '\\P{Braille}',
  '\\p{^Braille}',
  '\\P{^Braille}',
  '\\pZ',
  '[\\p{Braille}]',
  '[\\P{Braille}]',
  '[\\pZ]',
  '\\p{Lu}',
  '\\p{Uppercase_Letter}',
  '\\p{Canadian_Aboriginal}',
  '[\\p{Lu}]',
  '(?i)[\\p{Lu}]',
  '\\p{Any}',
  '\\p{^Any}',
  '[\\012-\\234]\\141',
  '[\\x{41}-\\x7a]\\x61',
  'a{,2}',
  '\\.\\^\\$\\\\',
  '[a-zABC]',
  '[^a]',
  '[α-ε☺]',
  'a*{',
  '(?:ab)*',
  '(ab)*',
  'ab|cd',
  'a(b|c)d',
  '(?:a)',
  '(?:ab)(?:cd)',
  '(?:a+b+)(?:c+d+)',
  '(?:a+|b+)|(?:c+|d+)',
  '\\Q+|*?{[\\E',
  '\\Q+\\E+',
  '\\Qab\\E+',
  '\\Q\\\\E',
  '\\Q\\\\\\E',
  '(?m)^',
  '(?m)$',
  '(?-m)^',
  '(?-m)$',
  '(?m)\\A',
  '(?m)\\z',
  '(?P<name>a)',
  '(?<name>a)',
  '[Aa]',
  '[\\x{100}\\x{101}]',
  '[Δδ]',
  '(?s).',
  '(?-s).',
  '[\\s\\S]a',
  'x{2}|x{2}[0-9]',
  'a.*?c|a.*?b',
  '((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}))',
  '((((((((((x{1}){2}){2}){2}){2}){2}){2}){2}){2}){2})',
  '(?:[a-z]{4}){0,250}',
  '('.repeat(999) + ')'.repeat(999),
  '(?:'.repeat(999) + ')*'.repeat(999),
  '(' + '|'.repeat(12345) + ')',
  // onlyPerl
  '[a-b-c]',
  '\\Qabc\\E',
  '\\Q*+?{[\\E',
  '\\Q\\\\\\\\E',
];

const GO_INVALID = [
  '(',
  ')',
  '(a',
  'a)',
  '(a))',
  '(a|b|',
  'a|b|)',
  '(a|b|))',
  '(a|b',
  'a|b)',
  '(a|b))',
  '[a-z',
  '([a-z)',
  '[a-z)',
  '([a-z]))',
  'x{1001}',
  'x{9876543210}',
  'x{2,1}',
  'x{1,9876543210}',
  '(?P<name>a',
  '(?P<name>',
  '(?P<name',
  '(?P<x y>a)',
  '(?P<>a)',
  '(?<name>a',
  '(?<name>',
  '(?<name',
  '(?<x y>a)',
  '(?<>a)',
  '[a-Z]',
  '(?i)[a-Z]',
  '\\Q\\E*',
  'a{100000}',
  'a{100000,}',
  '((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}){2})',
  '(?:[a-z]{4}){0,251}',
  '('.repeat(1000) + ')'.repeat(1000),
  '(?:'.repeat(1000) + ')*'.repeat(1000),
  // onlyPOSIX: nested repetition is an error with Perl flags
  'a++',
  'a**',
  'a?*',
  'a+*',
  'a{1}*',
  '.{1}{2}.{3}',
];

describe('goRegexpError: Go regexp/syntax test vectors', () => {
  it.each(GO_VALID.map((p) => [p.length > 40 ? `${p.slice(0, 37)}...` : p, p]))('accepts %s', (_l, p) => {
    expect(goRegexpError(p)).toBeUndefined();
  });
  it.each(GO_INVALID.map((p) => [p.length > 40 ? `${p.slice(0, 37)}...` : p, p]))('refuses %s', (_l, p) => {
    expect(goRegexpError(p)).toBeDefined();
  });
});

describe("goRegexpError: Calico's FelixConfiguration pattern cases", () => {
  it.each([
    ['*', false],
    ['eth.*', true],
    ['^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)', true],
  ] as const)('%s valid: %s', (p, valid) => {
    expect(goRegexpError(p) === undefined).toBe(valid);
  });
});

describe('goRegexpError: where JavaScript and Go disagree, Go decides', () => {
  it.each([
    ['(?i)eth', true],
    ['(?i:eth)0', true],
    ['eth\\z', true],
    ['[[:alpha:]]+', true],
    ['(?=a)b', false],
    ['(?!a)b', false],
    ['(?<=a)b', false],
    ['(a)\\1', false],
    ['\\k<x>', false],
    ['\\Z', false],
    ['\\e', false],
    ['[\\b]', false],
    ['\\p{Foo}', false],
    ['\\cA', false],
    ['a{2}{3}', false],
    ['a*??', false],
    ['(?-)a', false],
    ['(?i-)a', false],
    ['(?x)a', false],
    ['\\', false],
    ['[[:foo:]]', false],
  ] as const)('%s valid: %s', (p, valid) => {
    expect(goRegexpError(p) === undefined).toBe(valid);
  });

  it('says what Go says, naming the offending text', () => {
    expect(goRegexpError('(a')).toBe('missing closing ): `(a`');
    expect(goRegexpError('a)')).toBe('unexpected ): `a)`');
    expect(goRegexpError('*')).toBe('missing argument to repetition operator: `*`');
    expect(goRegexpError('a**')).toBe('invalid nested repetition operator: `**`');
    expect(goRegexpError('[a-Z]')).toBe('invalid character class range: `a-Z`');
    expect(goRegexpError('x{1001}')).toBe('invalid repeat count: `{1001}`');
    expect(goRegexpError('(?=a)')).toBe('invalid or unsupported Perl syntax: `(?=`');
    expect(goRegexpError('\\1')).toBe('invalid escape sequence: `\\1`');
  });
});
