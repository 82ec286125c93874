// Tokenizer for Calico's selector language, matching calico: libcalico-go/lib/selector/tokenizer/tokenizer.go.
//
// Rules we mirror (they decide which selectors are accepted):
// - Whitespace is only space and tab; anything else outside a string (newline included) is an error.
// - Strings are '...' or "..." with no escapes; they end at the next matching quote.
// - Labels are runs of [a-zA-Z0-9_./-], 1..512 characters.
// - After a label (and only there) the words `contains`, `starts with`, `ends with`, `not in` and `in` are
//   operators; `startswith`, `endswith`, `notin` and extra spaces/tabs between the two words are accepted, and the
//   operator must end at a word boundary (`a inx` is an error). Anywhere else the same words are ordinary labels.
// - `has(`, `all(` and `global(` are keywords only with no space before "("; spaces/tabs are allowed inside,
//   e.g. `has( a )`, `all( )`.
// - `!=` is one token; a `!` not followed by `=` is negation. `=`, `&`, `|` must be doubled.
// The tokenizer is pulled by the parser one token at a time, so the first error in text order is the one reported;
// a character that starts no token becomes an `invalid` token so the parser can say what it expected there.
import { SelectorParseError } from './errors.js';

export const MAX_LABEL_LENGTH = 512;

export type TokenKind =
  | 'label'
  | 'string'
  | '{'
  | '}'
  | ','
  | '=='
  | '!='
  | 'in'
  | 'not in'
  | 'contains'
  | 'starts with'
  | 'ends with'
  | '!'
  | 'all'
  | 'global'
  | 'has'
  | '('
  | ')'
  | '&&'
  | '||'
  | 'eof'
  /** A character that cannot start any token; the parser reports it with what it expected there. */
  | 'invalid';

export interface Token {
  readonly kind: TokenKind;
  /** Label name for `label` and `has`, string contents for `string`; otherwise empty. */
  readonly value: string;
  /** [start, end) in the input. */
  readonly start: number;
  readonly end: number;
}

export const OPERATOR_WORDS = '"==", "!=", "in", "not in", "contains", "starts with" or "ends with"';

export function isLabelChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x2d // -
  );
}

/** True when `label` is a complete, valid selector label (same rule as Calico's tokenizer.ValidLabel). */
export function isValidSelectorLabel(label: string): boolean {
  if (label.length === 0 || label.length > MAX_LABEL_LENGTH) return false;
  for (let i = 0; i < label.length; i++) if (!isLabelChar(label.charCodeAt(i))) return false;
  return true;
}

/** Describes the text at `pos` for "found ..." in errors. */
export function describeAt(input: string, pos: number): string {
  if (pos >= input.length) return 'end of input';
  const c = input.charCodeAt(pos);
  if (isLabelChar(c)) {
    let end = pos;
    while (end < input.length && isLabelChar(input.charCodeAt(end))) end++;
    return JSON.stringify(input.slice(pos, end));
  }
  return JSON.stringify(String.fromCodePoint(input.codePointAt(pos) ?? c));
}

export class SelectorTokenizer {
  private pos = 0;
  private last: Token | undefined;

  constructor(readonly input: string) {}

  private fail(pos: number, expected: string, found = describeAt(this.input, pos)): never {
    throw new SelectorParseError(this.input, pos, expected, found);
  }

  private skipSpace(pos: number): number {
    const s = this.input;
    while (pos < s.length) {
      const c = s.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09) break;
      pos++;
    }
    return pos;
  }

  private labelEnd(pos: number): number {
    const s = this.input;
    while (pos < s.length && isLabelChar(s.charCodeAt(pos))) pos++;
    return pos;
  }

  /** If input at `pos` is the given words (separated by optional spaces/tabs) ending at a word boundary, the end. */
  private matchWords(pos: number, words: readonly string[]): number {
    const s = this.input;
    let p = pos;
    for (let i = 0; i < words.length; i++) {
      const w = words[i] as string;
      if (!s.startsWith(w, p)) return -1;
      p += w.length;
      if (i < words.length - 1) p = this.skipSpace(p);
    }
    if (p < s.length && isLabelChar(s.charCodeAt(p))) return -1;
    return p;
  }

  private readLabel(start: number, context: string): number {
    const end = this.labelEnd(start);
    if (end === start) this.fail(start, context);
    if (end - start > MAX_LABEL_LENGTH) {
      this.fail(start, `a label of at most ${MAX_LABEL_LENGTH} characters`, `a label of ${end - start} characters`);
    }
    return end;
  }

  next(): Token {
    const t = this.scan();
    this.last = t;
    return t;
  }

  private tok(kind: TokenKind, start: number, end: number, value = ''): Token {
    this.pos = end;
    return { kind, value, start, end };
  }

  private scan(): Token {
    const s = this.input;
    const start = this.skipSpace(this.pos);
    if (start >= s.length) return this.tok('eof', s.length, s.length);
    const c = s.charCodeAt(start);
    switch (c) {
      case 0x28:
        return this.tok('(', start, start + 1);
      case 0x29:
        return this.tok(')', start, start + 1);
      case 0x7b:
        return this.tok('{', start, start + 1);
      case 0x7d:
        return this.tok('}', start, start + 1);
      case 0x2c:
        return this.tok(',', start, start + 1);
      case 0x22:
      case 0x27: {
        const close = s.indexOf(s[start] as string, start + 1);
        if (close < 0)
          this.fail(start, `a closing ${s[start] === '"' ? "'\"'" : `"'"`} for the string`, 'end of input');
        return this.tok('string', start, close + 1, s.slice(start + 1, close));
      }
      case 0x3d:
        if (s.charCodeAt(start + 1) === 0x3d) return this.tok('==', start, start + 2);
        return this.fail(start, '"=="', '"="');
      case 0x21:
        if (s.charCodeAt(start + 1) === 0x3d) return this.tok('!=', start, start + 2);
        return this.tok('!', start, start + 1);
      case 0x26:
        if (s.charCodeAt(start + 1) === 0x26) return this.tok('&&', start, start + 2);
        return this.fail(start, '"&&"', '"&"');
      case 0x7c:
        if (s.charCodeAt(start + 1) === 0x7c) return this.tok('||', start, start + 2);
        return this.fail(start, '"||"', '"|"');
    }
    if (this.last?.kind === 'label') return this.scanOperator(start, this.last.value);
    for (const kw of ['has', 'all', 'global'] as const) {
      if (!s.startsWith(kw, start) || s.charCodeAt(start + kw.length) !== 0x28) continue;
      let p = this.skipSpace(start + kw.length + 1);
      let label = '';
      if (kw === 'has') {
        const end = this.readLabel(p, 'a label name inside "has("');
        label = s.slice(p, end);
        p = this.skipSpace(end);
      }
      if (s.charCodeAt(p) !== 0x29) this.fail(p, `")" to close "${kw}("`);
      return this.tok(kw, start, p + 1, label);
    }
    if (!isLabelChar(c)) return this.tok('invalid', start, start + (c >= 0xd800 && c <= 0xdbff ? 2 : 1));
    const end = this.readLabel(start, 'a label');
    return this.tok('label', start, end, s.slice(start, end));
  }

  private scanOperator(start: number, label: string): Token {
    const ops: readonly [TokenKind, readonly string[]][] = [
      ['contains', ['contains']],
      ['starts with', ['starts', 'with']],
      ['ends with', ['ends', 'with']],
      ['not in', ['not', 'in']],
      ['in', ['in']],
    ];
    for (const [kind, words] of ops) {
      const end = this.matchWords(start, words);
      if (end >= 0) return this.tok(kind, start, end);
    }
    return this.fail(start, `${OPERATOR_WORDS} after label ${JSON.stringify(label)}`);
  }
}
