// Whether a pattern compiles as a Go regular expression (RE2 syntax, `regexp.Compile`), without compiling it.
//
// Calico validates FelixConfiguration patterns (`mtuIfacePattern`, `bpfDataIfacePattern`, ...) with Go's
// `regexp.Compile` (`calico: libcalico-go/lib/validator/v3/validator.go` validateRegexp), and Felix compiles them
// the same way; JavaScript's RegExp accepts a different language (lookarounds, backreferences) and refuses some of
// Go's (`(?i)` flag groups, `\z`, `\Q..\E`, POSIX classes). This module follows Go's parser (`regexp/syntax`, Perl
// flags as `regexp.Compile` uses them) closely enough to give Go's verdict and Go's error wording:
// groups and named captures, flag groups, character classes (ranges, POSIX and Perl classes, Unicode classes),
// escapes, repetition operators and counts (at most 1000, nested counts multiplying to at most 1000), nesting depth.
// Not modelled: Go's program-size limits, which only patterns tens of kilobytes long reach (callers cap the
// length), and the loose spelling of Unicode class names newer Go versions accept (`\p{greek}`): names must be
// spelled as Unicode spells them.
// Input: the pattern text. Output: undefined when Go compiles it, else Go's message (`missing closing )`, ...).

const MAX_REPEAT = 1000;
const MAX_NESTING = 1000;

type Node =
  { kind: 'atom' } | { kind: 'repeat'; min: number; max: number; sub: Node } | { kind: 'group'; subs: Node[] };

class GoRegexpError extends Error {}

const POSIX_CLASSES = new Set([
  'alnum',
  'alpha',
  'ascii',
  'blank',
  'cntrl',
  'digit',
  'graph',
  'lower',
  'print',
  'punct',
  'space',
  'upper',
  'word',
  'xdigit',
]);

/** Go's `unicode.Categories` short names (the long names are checked through the JavaScript engine). */
const CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);

function unicodeNameKnown(name: string): boolean {
  if (name === 'Any' || CATEGORIES.has(name)) return true;
  if (!/^[A-Za-z_]+$/.test(name)) return false;
  for (const probe of [`\\p{General_Category=${name}}`, `\\p{Script=${name}}`]) {
    try {
      new RegExp(probe, 'u');
      return true;
    } catch {
      // not this kind of name
    }
  }
  return false;
}

function repeatIsValid(node: Node, n: number): boolean {
  let budget = n;
  if (node.kind === 'repeat') {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > budget) return false;
    if (m > 0) budget = Math.floor(budget / m);
    return repeatIsValid(node.sub, budget);
  }
  if (node.kind === 'group') return node.subs.every((s) => repeatIsValid(s, budget));
  return true;
}

const isOctal = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9A-Fa-f]$/.test(c);
const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);

class Parser {
  private pos = 0;
  private readonly chars: string[];

  constructor(source: string) {
    // Code points, as Go reads runes.
    this.chars = [...source];
  }

  private get rest(): string {
    return this.chars.slice(this.pos).join('');
  }

  private fail(message: string, at?: string): never {
    throw new GoRegexpError(at === undefined ? message : `${message}: \`${at}\``);
  }

  parse(): void {
    this.alternation(0);
    if (this.pos < this.chars.length) this.fail('unexpected )', this.chars.join(''));
  }

  private alternation(depth: number): Node {
    const subs = [this.concatenation(depth)];
    while (this.chars[this.pos] === '|') {
      this.pos++;
      subs.push(this.concatenation(depth));
    }
    return { kind: 'group', subs };
  }

  private concatenation(depth: number): Node {
    const items: Node[] = [];
    let lastRepeat = '';
    for (;;) {
      const c = this.chars[this.pos];
      if (c === undefined || c === '|' || c === ')') break;
      let repeat = '';
      const start = this.pos;
      if (c === '*' || c === '+' || c === '?') {
        this.pos++;
        const min = c === '+' ? 1 : 0;
        const max = c === '?' ? 1 : -1;
        repeat = this.applyRepeat(items, min, max, start, lastRepeat);
      } else if (c === '{') {
        const counts = this.repeatCounts();
        if (counts === undefined) {
          this.pos++;
          items.push({ kind: 'atom' });
        } else {
          const [min, max] = counts;
          const text = this.chars.slice(start, this.pos).join('');
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            this.fail('invalid repeat count', text);
          }
          repeat = this.applyRepeat(items, min, max, start, lastRepeat);
        }
      } else if (c === '(') {
        if (depth + 1 >= MAX_NESTING) this.fail('expression nests too deeply', this.rest);
        const group = this.group(depth + 1);
        if (group !== undefined) items.push(group);
      } else if (c === '[') {
        this.charClass();
        items.push({ kind: 'atom' });
      } else if (c === '\\') {
        this.escapeOutsideClass(items);
      } else {
        this.pos++;
        items.push({ kind: 'atom' });
      }
      lastRepeat = repeat;
    }
    return { kind: 'group', subs: items };
  }

  /** Wraps the last item in a repetition (after its operator was consumed); returns the operator's text. */
  private applyRepeat(items: Node[], min: number, max: number, start: number, lastRepeat: string): string {
    if (this.chars[this.pos] === '?') this.pos++;
    const text = this.chars.slice(start, this.pos).join('');
    if (lastRepeat !== '') this.fail('invalid nested repetition operator', `${lastRepeat}${text}`);
    const sub = items.pop();
    if (sub === undefined) this.fail('missing argument to repetition operator', text);
    const node: Node = { kind: 'repeat', min, max, sub };
    if ((min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) this.fail('invalid repeat count', text);
    items.push(node);
    return text;
  }

  /** `{n}`, `{n,}`, `{n,m}` at pos: consumes it and returns [min, max] (max -1: unbounded), else leaves pos. */
  private repeatCounts(): [number, number] | undefined {
    const m = /^\{([0-9]+)(,([0-9]*))?\}/.exec(this.rest);
    if (m === null) return undefined;
    this.pos += [...m[0]].length;
    // Go reports counts it cannot hold as invalid; anything above 1000 is invalid anyway.
    const num = (s: string) => (s.length > 8 ? Number.MAX_SAFE_INTEGER : Number(s));
    const min = num(m[1] ?? '');
    const max = m[2] === undefined ? min : m[3] === '' || m[3] === undefined ? -1 : num(m[3]);
    return [min, max];
  }

  /** A group at pos (`(`); returns its node, or undefined for a flag-only group such as `(?i)`. */
  private group(depth: number): Node | undefined {
    const open = this.pos;
    this.pos++;
    if (this.chars[this.pos] === '?') {
      const at = (i: number) => this.chars[this.pos + i];
      if ((at(1) === 'P' && at(2) === '<') || at(1) === '<') {
        const begin = this.pos + (at(1) === 'P' ? 3 : 2);
        const end = this.chars.indexOf('>', begin);
        if (end < 0) this.fail('invalid named capture', this.chars.slice(open).join(''));
        const name = this.chars.slice(begin, end).join('');
        if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail('invalid named capture', this.chars.slice(open, end + 1).join(''));
        this.pos = end + 1;
        return this.groupBody(depth, open);
      }
      // Flags: (?flags) or (?flags:re), flags from imsU with at most one '-'.
      this.pos++;
      let sign = 1;
      let sawFlag = false;
      for (;;) {
        const c = this.chars[this.pos];
        if (c === undefined) this.fail('missing closing )', this.chars.slice(open).join(''));
        if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
          sawFlag = true;
          this.pos++;
          continue;
        }
        if (c === '-' && sign > 0) {
          sign = -1;
          sawFlag = false;
          this.pos++;
          continue;
        }
        if ((c === ':' || c === ')') && !(sign < 0 && !sawFlag)) {
          this.pos++;
          if (c === ')') return undefined;
          return this.groupBody(depth, open);
        }
        this.fail('invalid or unsupported Perl syntax', this.chars.slice(open, this.pos + 1).join(''));
      }
    }
    return this.groupBody(depth, open);
  }

  private groupBody(depth: number, open: number): Node {
    const inner = this.alternation(depth);
    if (this.chars[this.pos] !== ')') this.fail('missing closing )', this.chars.slice(open).join(''));
    this.pos++;
    return inner;
  }

  private escapeOutsideClass(items: Node[]): void {
    const next = this.chars[this.pos + 1];
    if (next === undefined) this.fail('trailing backslash at end of expression');
    if ('AbBz'.includes(next)) {
      this.pos += 2;
      items.push({ kind: 'atom' });
      return;
    }
    if (next === 'Q') {
      this.pos += 2;
      const end = this.rest.indexOf('\\E');
      const literal = end < 0 ? this.rest : this.rest.slice(0, end);
      for (let i = 0; i < [...literal].length; i++) items.push({ kind: 'atom' });
      this.pos += [...literal].length + (end < 0 ? 0 : 2);
      return;
    }
    if (next === 'p' || next === 'P') {
      this.unicodeClass();
      items.push({ kind: 'atom' });
      return;
    }
    if ('dDsSwW'.includes(next)) {
      this.pos += 2;
      items.push({ kind: 'atom' });
      return;
    }
    this.escape();
    items.push({ kind: 'atom' });
  }

  /** `\pL`, `\p{Greek}`, `\P{^Lu}` at pos. */
  private unicodeClass(): void {
    const start = this.pos;
    this.pos += 2;
    const c = this.chars[this.pos];
    if (c === undefined) this.fail('invalid character class range', this.chars.slice(start).join(''));
    let name: string;
    if (c === '{') {
      const rest = this.rest;
      const end = rest.indexOf('}');
      if (end < 0) this.fail('invalid character class range', this.chars.slice(start).join(''));
      name = rest.slice(1, end);
      this.pos += [...rest.slice(0, end + 1)].length;
    } else {
      name = c;
      this.pos++;
    }
    if (name.startsWith('^')) name = name.slice(1);
    if (!unicodeNameKnown(name)) this.fail('invalid character class range', this.chars.slice(start, this.pos).join(''));
  }

  /** A single-character escape at pos (`\n`, `\x41`, `\x{263a}`, `\012`, `\.`); returns its code point. */
  private escape(): number {
    const start = this.pos;
    const c = this.chars[this.pos + 1];
    if (c === undefined) this.fail('trailing backslash at end of expression');
    this.pos += 2;
    const bad = (): never => this.fail('invalid escape sequence', this.chars.slice(start, this.pos).join(''));
    if (c >= '1' && c <= '7' && !isOctal(this.chars[this.pos])) bad();
    if (isOctal(c)) {
      let value = Number(c);
      for (let i = 0; i < 2 && isOctal(this.chars[this.pos]); i++) value = value * 8 + Number(this.chars[this.pos++]);
      return value;
    }
    if (c === 'x') {
      if (this.chars[this.pos] === '{') {
        this.pos++;
        let digits = '';
        while (isHex(this.chars[this.pos])) digits += this.chars[this.pos++];
        if (this.chars[this.pos] !== '}' || digits === '') bad();
        this.pos++;
        const value = parseInt(digits, 16);
        if (digits.length > 8 || value > 0x10ffff) bad();
        return value;
      }
      const a = this.chars[this.pos];
      const b = this.chars[this.pos + 1];
      if (!isHex(a) || !isHex(b)) bad();
      this.pos += 2;
      return parseInt(`${a}${b}`, 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (simple[c] !== undefined) return simple[c];
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c)) return c.codePointAt(0)!;
    return bad();
  }

  /** A bracketed class at pos (`[`). */
  private charClass(): void {
    const start = this.pos;
    this.pos++;
    if (this.chars[this.pos] === '^') this.pos++;
    let first = true;
    for (;;) {
      const c = this.chars[this.pos];
      if (c === undefined) this.fail('missing closing ]', this.chars.slice(start).join(''));
      if (c === ']' && !first) {
        this.pos++;
        return;
      }
      first = false;
      if (c === '[' && this.chars[this.pos + 1] === ':') {
        const rest = this.rest;
        const end = rest.indexOf(':]', 2);
        if (end >= 0) {
          let name = rest.slice(2, end);
          if (name.startsWith('^')) name = name.slice(1);
          if (!POSIX_CLASSES.has(name)) this.fail('invalid character class range', rest.slice(0, end + 2));
          this.pos += [...rest.slice(0, end + 2)].length;
          continue;
        }
      }
      if (c === '\\' && (this.chars[this.pos + 1] === 'p' || this.chars[this.pos + 1] === 'P')) {
        this.unicodeClass();
        continue;
      }
      if (c === '\\' && 'dDsSwW'.includes(this.chars[this.pos + 1] ?? '_')) {
        this.pos += 2;
        continue;
      }
      const rangeStart = this.pos;
      const lo = this.classChar(start);
      if (this.chars[this.pos] === '-' && this.chars[this.pos + 1] !== undefined && this.chars[this.pos + 1] !== ']') {
        this.pos++;
        const hi = this.classChar(start);
        if (hi < lo) this.fail('invalid character class range', this.chars.slice(rangeStart, this.pos).join(''));
      }
    }
  }

  private classChar(classStart: number): number {
    const c = this.chars[this.pos];
    if (c === undefined) this.fail('missing closing ]', this.chars.slice(classStart).join(''));
    if (c === '\\') return this.escape();
    this.pos++;
    return c.codePointAt(0)!;
  }
}

/** Go's verdict on a pattern: undefined when `regexp.Compile` accepts it, else its error (without the prefix). */
export function goRegexpError(source: string): string | undefined {
  try {
    new Parser(source).parse();
    return undefined;
  } catch (err) {
    if (err instanceof GoRegexpError) return err.message;
    throw err;
  }
}
