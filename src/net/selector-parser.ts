// Parser for Calico's selector language: text -> SelectorNode (AST). Grammar and tree shape follow
// calico: libcalico-go/lib/selector/parser/parser.go:
//
//   selector := <empty> | or EOF            (empty or blank text means all())
//   or       := and ("||" and)*             (one operand: no Or node)
//   and      := op ("&&" op)*               (one operand: no And node)
//   op       := "!"* ( "all()" | "global()" | "has(" label ")" | "(" or ")"
//                    | label ("==" | "!=" | "contains" | "starts with" | "ends with") string
//                    | label ("in" | "not in") "{" [string ("," string)* [","]] "}" )
//
// Leading "!"s collapse by parity into at most one Not node; a set literal may be empty or end with a comma, and its
// values are kept sorted (by UTF-8 bytes, as Go sorts strings) and de-duplicated.
import { SelectorParseError } from './errors.js';
import { OPERATOR_WORDS, SelectorTokenizer, type Token } from './selector-tokenizer.js';

export type SelectorNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'global' }
  | { readonly kind: 'has'; readonly label: string }
  | {
      readonly kind: '==' | '!=' | 'contains' | 'starts with' | 'ends with';
      readonly label: string;
      readonly value: string;
    }
  | { readonly kind: 'in' | 'not in'; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: 'not'; readonly operand: SelectorNode }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly SelectorNode[] };

/** Orders strings by code point, which is the byte order of their UTF-8 encodings (Go's string order). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xd800-0xdfff) stand for code points above 0xffff, which sort after every BMP character.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Sorted, de-duplicated copy of set-literal values. */
export function normaliseSet(values: readonly string[]): string[] {
  const sorted = [...values].sort(compareUtf8);
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
}

function describe(t: Token, input: string): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'label':
      return `label ${JSON.stringify(t.value)}`;
    case 'string':
      return `string ${input.slice(t.start, t.end)}`;
    default:
      return JSON.stringify(input.slice(t.start, t.end));
  }
}

const OP_START = 'a label, "has(", "all()", "global()", "!" or "("';

class Parser {
  private readonly tz: SelectorTokenizer;
  private tok: Token;

  constructor(private readonly input: string) {
    this.tz = new SelectorTokenizer(input);
    this.tok = this.tz.next();
  }

  /** Kind of the current token (a method, so TypeScript does not narrow it across advance()). */
  private peek(): Token['kind'] {
    return this.tok.kind;
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.tz.next();
    return t;
  }

  private fail(expected: string): never {
    throw new SelectorParseError(this.input, this.tok.start, expected, describe(this.tok, this.input));
  }

  parseRoot(): SelectorNode {
    if (this.peek() === 'eof') return { kind: 'all' };
    const node = this.parseOr();
    if (this.peek() !== 'eof') this.fail('"&&", "||" or end of input');
    return node;
  }

  private parseOr(): SelectorNode {
    const first = this.parseAnd();
    if (this.peek() !== '||') return first;
    const operands = [first];
    while (this.peek() === '||') {
      this.advance();
      operands.push(this.parseAnd());
    }
    return { kind: 'or', operands };
  }

  private parseAnd(): SelectorNode {
    const first = this.parseOp();
    if (this.peek() !== '&&') return first;
    const operands = [first];
    while (this.peek() === '&&') {
      this.advance();
      operands.push(this.parseOp());
    }
    return { kind: 'and', operands };
  }

  private parseOp(): SelectorNode {
    let negated = false;
    while (this.peek() === '!') {
      negated = !negated;
      this.advance();
    }
    const node = this.parseOperand();
    return negated ? { kind: 'not', operand: node } : node;
  }

  private parseOperand(): SelectorNode {
    const t = this.tok;
    switch (t.kind) {
      case 'all':
      case 'global':
        this.advance();
        return { kind: t.kind };
      case 'has':
        this.advance();
        return { kind: 'has', label: t.value };
      case '(': {
        this.advance();
        const inner = this.parseOr();
        if (this.peek() !== ')') this.fail('"&&", "||" or ")"');
        this.advance();
        return inner;
      }
      case 'label':
        this.advance();
        return this.parseComparison(t.value);
      default:
        return this.fail(OP_START);
    }
  }

  private parseComparison(label: string): SelectorNode {
    const op = this.tok;
    switch (op.kind) {
      case '==':
      case '!=':
      case 'contains':
      case 'starts with':
      case 'ends with': {
        this.advance();
        if (this.peek() !== 'string') this.fail(`a quoted string after "${op.kind}"`);
        return { kind: op.kind, label, value: this.advance().value };
      }
      case 'in':
      case 'not in': {
        this.advance();
        if (this.peek() !== '{') this.fail(`a set literal "{...}" after "${op.kind}"`);
        this.advance();
        const values: string[] = [];
        let afterString = false;
        while (this.peek() === 'string') {
          values.push(this.advance().value);
          afterString = this.peek() !== ',';
          if (afterString) break;
          this.advance();
        }
        if (this.peek() !== '}') this.fail(afterString ? '"," or "}"' : 'a quoted string or "}"');
        this.advance();
        return { kind: op.kind, label, values: normaliseSet(values) };
      }
      default:
        return this.fail(`${OPERATOR_WORDS} after label ${JSON.stringify(label)}`);
    }
  }
}

/** Parses selector text into its AST; throws SelectorParseError with the position of the first problem. */
export function parseSelectorAst(text: string): SelectorNode {
  return new Parser(text).parseRoot();
}
